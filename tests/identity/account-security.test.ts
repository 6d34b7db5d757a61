import { beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { apiTokens, users } from '../../src/db/schema'
import { createUser, expectProblem, TEST_PASSWORD, unique } from '../helpers/app'
import { countQueries } from '../helpers/db'
import { account, type IdentityApp, identityApp, login } from './helpers'

let ctx: IdentityApp
beforeAll(async () => {
  ctx = await identityApp()
})

const me = (token: string) => ctx.req('GET', '/api/v1/users/me', { token })
async function apiToken(access: string, scope: 'read' | 'write' = 'write') {
  const res = await ctx.req('POST', '/api/v1/users/me/tokens', {
    token: access,
    body: { name: 'cli', scope },
  })
  expect(res.status).toBe(201)
  return res.body.token as string
}
const tokenCount = async (userId: string) =>
  (await ctx.db.select({ id: apiTokens.id }).from(apiTokens).where(eq(apiTokens.userId, userId))).length

describe('account recovery evicts API tokens', () => {
  test('logout-all ends every session and deletes every API token', async () => {
    const a = await account(ctx)
    const token = await apiToken(a.access)
    expect((await me(token)).status).toBe(200)
    expect((await ctx.req('POST', '/api/v1/auth/logout-all', { token: a.access })).status).toBe(204)
    expectProblem(await me(token), 401)
    expectProblem(await me(a.access), 401)
    expect(await tokenCount(a.id)).toBe(0)
  })

  test('a password change keeps the current session but deletes every API token', async () => {
    const a = await account(ctx)
    const token = await apiToken(a.access)
    const res = await ctx.req('POST', '/api/v1/users/me/password', {
      token: a.access,
      body: { current_password: TEST_PASSWORD, new_password: 'Brand-new-pass7!' },
    })
    expect(res.status).toBe(204)
    expect((await me(a.access)).status).toBe(200)
    expectProblem(await me(token), 401)
    expect(await tokenCount(a.id)).toBe(0)
  })

  test('a password reset deletes every API token', async () => {
    const a = await account(ctx)
    const token = await apiToken(a.access)
    const sent = ctx.mail.next(a.email, 'Reset')
    expect(
      (await ctx.req('POST', '/api/v1/auth/password-reset/request', { body: { email: a.email } })).status,
    ).toBe(202)
    const mail = await sent
    const resetToken = decodeURIComponent(/token=([^\s]+)/.exec(mail.text)![1]!)
    const res = await ctx.req('POST', '/api/v1/auth/password-reset/confirm', {
      body: { token: resetToken, new_password: 'Reset-pass-42!' },
    })
    expect(res.status).toBe(204)
    expectProblem(await me(token), 401)
    expect(await tokenCount(a.id)).toBe(0)
  })
})

describe('session-only account actions', () => {
  test('a write API token cannot end sessions one by one (same rule as logout-all)', async () => {
    const a = await account(ctx)
    const token = await apiToken(a.access)
    const sid = ctx.jwt.verifyAccess(a.access)!.sid
    expectProblem(await ctx.req('DELETE', `/api/v1/auth/sessions/${sid}`, { token }), 403, 'forbidden')
    expect((await me(a.access)).status).toBe(200)
    // the login session itself still can
    const other = await login(ctx, a.username)
    const otherSid = ctx.jwt.verifyAccess(other.body.access_token)!.sid
    expect((await ctx.req('DELETE', `/api/v1/auth/sessions/${otherSid}`, { token: a.access })).status).toBe(
      204,
    )
    expectProblem(await me(other.body.access_token), 401)
  })

  test("an admin's API token cannot change anybody's email through PATCH /users/{id}", async () => {
    const admin = await account(ctx)
    await ctx.db.update(users).set({ role: 'admin' }).where(eq(users.id, admin.id))
    const token = await apiToken(admin.access)
    const victim = await createUser(ctx)
    for (const id of [admin.id, victim.id]) {
      const res = expectProblem(
        await ctx.req('PATCH', `/api/v1/users/${id}`, {
          token,
          body: { email: `${unique('evil')}@example.com` },
        }),
        403,
        'forbidden',
      )
      expect(res.detail).toContain('login session')
    }
    const [row] = await ctx.db.select({ email: users.email }).from(users).where(eq(users.id, victim.id))
    expect(row!.email).toBe(victim.email)
    // other fields still work with the token, and the admin's login session may change the email
    const named = await ctx.req('PATCH', `/api/v1/users/${victim.id}`, {
      token,
      body: { full_name: 'Renamed' },
    })
    expect(named.status).toBe(200)
    const email = `${unique('moved')}@example.com`
    const moved = await ctx.req('PATCH', `/api/v1/users/${victim.id}`, {
      token: admin.access,
      body: { email },
    })
    expect(moved.status).toBe(200)
    expect(moved.body.email).toBe(email)
  })
})

describe('token responses are never cached', () => {
  test('login, refresh and a new API token carry Cache-Control: no-store', async () => {
    const a = await account(ctx)
    const res = await login(ctx, a.username)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('pragma')).toBe('no-cache')
    const refreshed = await ctx.req('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: res.body.refresh_token },
    })
    expect(refreshed.status).toBe(200)
    expect(refreshed.headers.get('cache-control')).toBe('no-store')
    const created = await ctx.req('POST', '/api/v1/users/me/tokens', {
      token: a.access,
      body: { name: 'x', scope: 'read' },
    })
    expect(created.headers.get('cache-control')).toBe('no-store')
  })
})

describe('password reset requests reveal nothing by timing', () => {
  test('known and unknown addresses: the response is sent before any lookup', async () => {
    const a = await account(ctx)
    const ask = (email: string) =>
      countQueries(() => ctx.req('POST', '/api/v1/auth/password-reset/request', { body: { email } }))
    const known = await ask(a.email)
    const unknown = await ask(`${unique('nobody')}@example.com`)
    expect(known.result.status).toBe(202)
    expect(unknown.result.status).toBe(202)
    expect(known.count).toBe(0)
    expect(unknown.count).toBe(0)
    expect(known.result.text).toBe(unknown.result.text)
    // the work still happens, after the response
    await ctx.mail.next(a.email, 'Reset')
  })
})
