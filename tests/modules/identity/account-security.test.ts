import { beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { apiTokens, users } from '../../../src/db/schema'
import { createUser, expectProblem, TEST_PASSWORD, unique } from '../../helpers/app'
import { countQueries } from '../../helpers/db'
import { account, type IdentityApp, identityApp, login, withMailRunnerPaused } from './helpers'

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
    const sid = (await ctx.jwt.verifyAccess(a.access))!.sid
    expectProblem(await ctx.req('DELETE', `/api/v1/auth/sessions/${sid}`, { token }), 403, 'forbidden')
    expect((await me(a.access)).status).toBe(200)
    // the login session itself still can
    const other = await login(ctx, a.username)
    const otherSid = (await ctx.jwt.verifyAccess(other.body.access_token))!.sid
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
  test('known and unknown addresses cost the same statements (the lookup is in the mail job)', async () => {
    const a = await account(ctx)
    const ask = (email: string) =>
      countQueries(() => ctx.req('POST', '/api/v1/auth/password-reset/request', { body: { email } }))
    const [known, unknown] = await withMailRunnerPaused(async () => [
      await ask(a.email),
      await ask(`${unique('nobody')}@example.com`),
    ])
    expect(known.result.status).toBe(202)
    expect(unknown.result.status).toBe(202)
    expect(known.count).toBe(unknown.count)
    expect(known.statements).toEqual(unknown.statements)
    expect(known.statements.join('\n')).not.toContain('"users"')
    expect(known.result.text).toBe(unknown.result.text)
    // the work still happens, in the job
    await ctx.mail.next(a.email, 'Reset')
  })
})

describe('GET /users/me/tokens', () => {
  test('paginated newest first; one token by id; someone else’s or a malformed id is 404', async () => {
    const a = await account(ctx)
    const b = await account(ctx)
    const made: string[] = []
    for (let i = 0; i < 3; i++) {
      const res = await ctx.req('POST', '/api/v1/users/me/tokens', {
        token: a.access,
        body: { name: `t${i}`, scope: 'read' },
      })
      made.push(res.body.id)
    }
    const p1 = await ctx.req('GET', '/api/v1/users/me/tokens?page_size=2', { token: a.access })
    expect(p1.body).toMatchObject({ total: 3, page: 1, page_size: 2, pages: 2 })
    const p2 = await ctx.req('GET', '/api/v1/users/me/tokens?page_size=2&page=2', { token: a.access })
    expect([...p1.body.items, ...p2.body.items].map((t: { id: string }) => t.id)).toEqual([...made].reverse())
    expectProblem(
      await ctx.req('GET', `/api/v1/users/me/tokens/${made[0]}`, { token: b.access }),
      404,
      'not_found',
    )
    expectProblem(await ctx.req('GET', '/api/v1/users/me/tokens/nope', { token: a.access }), 404)
    expectProblem(await ctx.req('GET', '/api/v1/users/me/tokens?page=0', { token: a.access }), 422)
    expectProblem(await ctx.req('GET', '/api/v1/users/me/tokens'), 401)
  })
})

const undoTokenFrom = (text: string) =>
  decodeURIComponent(/undo-email-change\?token=([^\s]+)/.exec(text)![1]!)

describe('changing the email', () => {
  test('needs the current password: missing or wrong is a 422 and changes nothing', async () => {
    const a = await account(ctx)
    const email = `${unique('new')}@example.com`
    const missing = expectProblem(
      await ctx.req('PATCH', '/api/v1/users/me', { token: a.access, body: { email } }),
      422,
      'validation_failed',
    )
    expect(missing.errors?.[0]?.field).toBe('current_password')
    const wrong = expectProblem(
      await ctx.req('PATCH', '/api/v1/users/me', {
        token: a.access,
        body: { email, current_password: 'Wrong-pass1!' },
      }),
      422,
    )
    expect(wrong.errors?.[0]).toMatchObject({ field: 'current_password', message: 'is incorrect' })
    expect((await me(a.access)).body.email).toBe(a.email)
    // other fields need no password
    const named = await ctx.req('PATCH', '/api/v1/users/me', {
      token: a.access,
      body: { full_name: 'No pw' },
    })
    expect(named.status).toBe(200)
  })

  test('wrong current passwords are throttled like login', async () => {
    const a = await account(ctx)
    const email = `${unique('t')}@example.com`
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) {
      const res = await ctx.req('PATCH', '/api/v1/users/me', {
        token: a.access,
        body: { email, current_password: 'Wrong-pass1!' },
      })
      statuses.push(res.status)
    }
    expect(statuses.slice(0, 5)).toEqual([422, 422, 422, 422, 422])
    expect(statuses[5]).toBe(429)
  })

  test('the old address is told, and its link undoes the change and evicts every session and token', async () => {
    const a = await account(ctx)
    const token = await apiToken(a.access)
    const email = `${unique('thief')}@example.com`
    const changed = await ctx.req('PATCH', '/api/v1/users/me', {
      token: a.access,
      body: { email, current_password: a.password },
    })
    expect(changed.status).toBe(200)
    expect(changed.body.email).toBe(email)
    const notice = await ctx.mail.next(a.email, 'email address was changed')
    expect(notice.text).toContain(email)
    expect(notice.text).toContain(`${ctx.settings.PUBLIC_URL}/undo-email-change?token=`)
    const undo = undoTokenFrom(notice.text)

    expectProblem(await ctx.req('POST', '/api/v1/auth/email-change/undo', { body: { token: 'nope' } }), 422)
    expect((await ctx.req('POST', '/api/v1/auth/email-change/undo', { body: { token: undo } })).status).toBe(
      204,
    )
    const [row] = await ctx.db.select().from(users).where(eq(users.id, a.id))
    expect(row!.email).toBe(a.email)
    expect(row!.emailVerified).toBe(true)
    expectProblem(await me(a.access), 401)
    expectProblem(await me(token), 401)
    expect(await tokenCount(a.id)).toBe(0)
    // single use
    expectProblem(await ctx.req('POST', '/api/v1/auth/email-change/undo', { body: { token: undo } }), 422)
    // the owner can log in again with the restored address
    expect((await login(ctx, a.email)).status).toBe(200)
  })

  test('an undo is a 409 when another account took the address meanwhile', async () => {
    const a = await account(ctx)
    await ctx.req('PATCH', '/api/v1/users/me', {
      token: a.access,
      body: { email: `${unique('x')}@example.com`, current_password: a.password },
    })
    const notice = await ctx.mail.next(a.email, 'email address was changed')
    const b = await account(ctx)
    const takeOver = await ctx.req('PATCH', '/api/v1/users/me', {
      token: b.access,
      body: { email: a.email, current_password: b.password },
    })
    expect(takeOver.status).toBe(200)
    expectProblem(
      await ctx.req('POST', '/api/v1/auth/email-change/undo', {
        body: { token: undoTokenFrom(notice.text) },
      }),
      409,
      'conflict',
    )
  })

  test("an admin's change of someone's email also tells the old address", async () => {
    const admin = await account(ctx)
    await ctx.db.update(users).set({ role: 'admin' }).where(eq(users.id, admin.id))
    const victim = await account(ctx)
    const email = `${unique('adm')}@example.com`
    const res = await ctx.req('PATCH', `/api/v1/users/${victim.id}`, { token: admin.access, body: { email } })
    expect(res.status).toBe(200)
    const notice = await ctx.mail.next(victim.email, 'email address was changed')
    expect(notice.text).toContain(email)
  })
})

describe('deleting a user', () => {
  test('is refused (409) while they own projects others are members of; allowed after a transfer', async () => {
    const root = await createUser(ctx, { role: 'superadmin' })
    const owner = await createUser(ctx)
    const other = await createUser(ctx)
    const solo = await ctx.req('POST', '/api/v1/projects', { token: owner.token, body: { name: 'Solo' } })
    const shared = await ctx.req('POST', '/api/v1/projects', { token: owner.token, body: { name: 'Shared' } })
    expect(
      (
        await ctx.req('POST', `/api/v1/projects/${shared.body.id}/members`, {
          token: owner.token,
          body: { user_id: other.id, role: 'editor' },
        })
      ).status,
    ).toBe(201)
    const refused = expectProblem(
      await ctx.req('DELETE', `/api/v1/users/${owner.id}`, { token: root.token }),
      409,
      'conflict',
    )
    expect(refused.detail).toContain('"Shared"')
    expect(refused.detail).not.toContain('Solo')
    expect((await ctx.req('GET', `/api/v1/projects/${shared.body.id}`, { token: other.token })).status).toBe(
      200,
    )
    const moved = await ctx.req('POST', `/api/v1/projects/${shared.body.id}/transfer`, {
      token: owner.token,
      body: { user_id: other.id },
    })
    expect(moved.status).toBe(200)
    expect((await ctx.req('DELETE', `/api/v1/users/${owner.id}`, { token: root.token })).status).toBe(204)
    // the shared project lives on with its new owner; the solo one went with its owner
    expect((await ctx.req('GET', `/api/v1/projects/${shared.body.id}`, { token: other.token })).status).toBe(
      200,
    )
    const [gone] = await ctx.db.select().from(users).where(eq(users.id, owner.id))
    expect(gone).toBeUndefined()
    expect(solo.status).toBe(201)
  })
})
