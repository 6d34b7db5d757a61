import { beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { users } from '../../../src/db/schema'
import { futureDate } from '../../../src/modules/identity/context'
import { createUser, expectProblem } from '../../helpers/app'
import { account, type IdentityApp, identityApp, login, TEST_PASSWORD, unique } from './helpers'

let ctx: IdentityApp
beforeAll(async () => {
  ctx = await identityApp()
})

const YEAR_MS = 365 * 86_400_000

async function apiToken(access: string, scope: 'read' | 'write' = 'write') {
  const res = await ctx.req('POST', '/api/v1/users/me/tokens', { token: access, body: { name: 't', scope } })
  expect(res.status).toBe(201)
  return res.body as { id: string; token: string }
}

describe('API token expires_at', () => {
  const create = (access: string, expires_at: unknown) =>
    ctx.req('POST', '/api/v1/users/me/tokens', {
      token: access,
      body: { name: 'e', scope: 'read', expires_at },
    })

  test('expanded years, impossible dates, date-only and far-future values are a 422 on expires_at', async () => {
    const a = await account(ctx)
    const far = new Date(Date.now() + 11 * YEAR_MS).toISOString()
    for (const value of [
      '+275760-01-01T00:00:00Z',
      '+020000-01-01T00:00:00Z',
      '-000001-01-01T00:00:00Z',
      '2027-02-30T00:00:00Z',
      '2029-02-29T00:00:00Z',
      '2030-13-01T00:00:00Z',
      '2030-04-31T00:00:00Z',
      '2030-01-01T24:00:00Z',
      '2030-01-01T23:60:00Z',
      '2030-01-01T23:59:60Z',
      '2030-01-01T00:00:00+24:00',
      '2030-01-01',
      '2030-01-01T00:00:00',
      '2030-01-01 00:00:00Z',
      far,
    ]) {
      const res = await create(a.access, value)
      const problem = expectProblem(res, 422, 'validation_failed')
      expect(problem.errors?.map((e) => e.field)).toContain('expires_at')
    }
  })

  test('a full date-time with Z or an offset within 10 years is accepted, normalized to UTC', async () => {
    const a = await account(ctx)
    const year = new Date().getUTCFullYear() + 2
    const withOffset = await create(a.access, `${year}-02-28T12:30:00.123456+02:00`)
    expect(withOffset.status).toBe(201)
    expect(withOffset.body.expires_at).toBe(`${year}-02-28T10:30:00.123Z`)
    const leap = await create(a.access, '2028-02-29T00:00:00z')
    expect(leap.status).toBe(201)
    expect(leap.body.expires_at).toBe('2028-02-29T00:00:00.000Z')
    expect((await create(a.access, null)).body.expires_at).toBeNull()
  })

  test('futureDate alone: messages per kind of problem', () => {
    const message = (v: string) => {
      try {
        futureDate(v, 'f')
      } catch (e) {
        return (e as { errors: { message: string }[] }).errors[0]!.message
      }
      return 'ok'
    }
    expect(message('2030-01-01')).toContain('ISO 8601')
    expect(message('2027-02-30T00:00:00Z')).toContain('calendar')
    expect(message('2001-01-01T00:00:00Z')).toContain('future')
    expect(message('2999-01-01T00:00:00Z')).toContain('10 years')
    expect(message(new Date(Date.now() + YEAR_MS).toISOString())).toBe('ok')
  })
})

describe('an API token cannot take over the account', () => {
  test('changing the email needs a login session; other profile fields still work with a token', async () => {
    const a = await account(ctx)
    const { token } = await apiToken(a.access)
    const res = expectProblem(
      await ctx.req('PATCH', '/api/v1/users/me', {
        token,
        body: { email: `${unique('evil')}@example.com` },
      }),
      403,
      'forbidden',
    )
    expect(res.detail).toContain('login session')
    // unchanged email (any case) is not a change
    const same = await ctx.req('PATCH', '/api/v1/users/me', {
      token,
      body: { email: a.email.toUpperCase(), full_name: 'Via token' },
    })
    expect(same.status).toBe(200)
    expect(same.body).toMatchObject({ email: a.email, full_name: 'Via token' })
    const [row] = await ctx.db.select().from(users).where(eq(users.id, a.id))
    expect(row!.email).toBe(a.email)
    // the session itself may change it
    const email = `${unique('new')}@example.com`
    const own = await ctx.req('PATCH', '/api/v1/users/me', {
      token: a.access,
      body: { email, current_password: a.password },
    })
    expect(own.status).toBe(200)
    expect(own.body.email).toBe(email)
  })

  test('changing the password needs a login session', async () => {
    const a = await account(ctx)
    const { token } = await apiToken(a.access)
    const res = expectProblem(
      await ctx.req('POST', '/api/v1/users/me/password', {
        token,
        body: { current_password: TEST_PASSWORD, new_password: 'Other-pass9!' },
      }),
      403,
      'forbidden',
    )
    expect(res.detail).toContain('login session')
    expect((await login(ctx, a.username)).status).toBe(200)
  })

  test("a deactivated user's API token is refused; reactivation does not revive ended sessions", async () => {
    const admin = await createUser(ctx, { role: 'admin' })
    const a = await account(ctx)
    const { token } = await apiToken(a.access)
    const off = await ctx.req('PATCH', `/api/v1/users/${a.id}`, {
      token: admin.token,
      body: { is_active: false },
    })
    expect(off.status).toBe(200)
    expectProblem(await ctx.req('GET', '/api/v1/users/me', { token }), 403, 'forbidden')
    expectProblem(await ctx.req('GET', '/api/v1/users/me', { token: a.access }), 401)
    const on = await ctx.req('PATCH', `/api/v1/users/${a.id}`, {
      token: admin.token,
      body: { is_active: true },
    })
    expect(on.status).toBe(200)
    // the API token is an explicit credential: it works again
    expect((await ctx.req('GET', '/api/v1/users/me', { token })).status).toBe(200)
    // the sessions ended by the deactivation stay ended
    expectProblem(await ctx.req('GET', '/api/v1/users/me', { token: a.access }), 401)
    expectProblem(await ctx.req('POST', '/api/v1/auth/refresh', { body: { refresh_token: a.refresh } }), 401)
  })
})
