import { beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { refreshTokens, sessions } from '../../../src/db/schema'
import { sha256Hex } from '../../../src/lib/crypto'
import { createJwt } from '../../../src/modules/identity/access-tokens'
import { expectProblem, TEST_SECRET } from '../../helpers/app'
import { account, type IdentityApp, identityApp, login } from './helpers'

let ctx: IdentityApp
beforeAll(async () => {
  ctx = await identityApp()
})

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const me = (token: string) => ctx.req('GET', '/api/v1/users/me', { token })
const refresh = (token: string) => ctx.req('POST', '/api/v1/auth/refresh', { body: { refresh_token: token } })

describe('access tokens: every invalid one is a 401 with WWW-Authenticate', () => {
  test('missing, malformed, bad signature, alg none, wrong type, expired, ended session', async () => {
    const a = await account(ctx)
    const claims = (await ctx.jwt.verifyAccess(a.access))!
    const [h, p] = a.access.split('.')
    const now = Math.floor(Date.now() / 1000)
    const header = (await createJwt(TEST_SECRET).signAccess(a.id, claims.sid, 60)).token.split('.')[0]
    const signedWith = (payload: object) => {
      const input = `${header}.${b64(payload)}`
      const sig = new Bun.CryptoHasher('sha256', TEST_SECRET).update(input).digest('base64url')
      return `${input}.${sig}`
    }
    const cases: Record<string, string | undefined> = {
      missing: undefined,
      malformed: 'not-a-jwt',
      badSignature: `${h}.${p}.${'A'.repeat(43)}`,
      algNone: `${b64({ alg: 'none', typ: 'JWT' })}.${p}.`,
      wrongType: signedWith({ ...claims, type: 'refresh' }),
      expired: signedWith({ ...claims, iat: now - 3600, exp: now - 60 }),
      unknownSession: (await ctx.jwt.signAccess(a.id, Bun.randomUUIDv7(), 60)).token,
    }
    for (const [name, token] of Object.entries(cases)) {
      const res = await me(token as string)
      if (res.status !== 401) throw new Error(`${name}: expected 401, got ${res.status}`)
      expectProblem(res, 401, 'unauthorized')
      expect(res.headers.get('www-authenticate')).toBe('Bearer')
    }
    expect((await me(a.access)).status).toBe(200)
    await ctx.req('POST', '/api/v1/auth/logout', { token: a.access })
    expectProblem(await me(a.access), 401)
  })
})

describe('refresh rotation', () => {
  test('a refresh token works once and yields a new working pair; only its hash is stored', async () => {
    const a = await account(ctx)
    const r1 = await refresh(a.refresh)
    expect(r1.status).toBe(200)
    expect(r1.body.refresh_token).not.toBe(a.refresh)
    expect((await me(r1.body.access_token)).status).toBe(200)
    const [stored] = await ctx.db
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, sha256Hex(r1.body.refresh_token)))
    expect(stored).toBeDefined()
    expect(stored!.tokenHash).not.toContain(r1.body.refresh_token)
    expect((await ctx.jwt.verifyAccess(r1.body.access_token))!.sid).toBe(
      (await ctx.jwt.verifyAccess(a.access))!.sid,
    )
  })

  test('reuse after the grace window revokes the whole session', async () => {
    const app = await identityApp({ REFRESH_REUSE_GRACE_SECONDS: '0' })
    const a = await account(app)
    const r1 = await app.req('POST', '/api/v1/auth/refresh', { body: { refresh_token: a.refresh } })
    expect(r1.status).toBe(200)
    const replay = await app.req('POST', '/api/v1/auth/refresh', { body: { refresh_token: a.refresh } })
    expectProblem(replay, 401, 'unauthorized')
    // the legitimate holder's newer tokens are dead too
    expectProblem(await app.req('GET', '/api/v1/users/me', { token: r1.body.access_token }), 401)
    expectProblem(
      await app.req('POST', '/api/v1/auth/refresh', { body: { refresh_token: r1.body.refresh_token } }),
      401,
    )
  })

  test('within the grace window a racing reuse gets another valid pair', async () => {
    const a = await account(ctx)
    const [x, y] = await Promise.all([refresh(a.refresh), refresh(a.refresh)])
    expect(x!.status).toBe(200)
    expect(y!.status).toBe(200)
    expect(x!.body.refresh_token).not.toBe(y!.body.refresh_token)
    expect((await me(x!.body.access_token)).status).toBe(200)
    expect((await me(y!.body.access_token)).status).toBe(200)
    expect((await refresh(y!.body.refresh_token)).status).toBe(200)
  })

  test('unknown token and a token of a logged-out session are 401; bodies are closed', async () => {
    expectProblem(await refresh('nope'), 401)
    const a = await account(ctx)
    expect((await ctx.req('POST', '/api/v1/auth/logout', { token: a.access })).status).toBe(204)
    expectProblem(await refresh(a.refresh), 401)
    expectProblem(
      await ctx.req('POST', '/api/v1/auth/refresh', { body: { refresh_token: 'x', extra: 1 } }),
      422,
    )
  })

  test('a deactivated user cannot refresh', async () => {
    const a = await account(ctx)
    // simulate a deactivation that left the session alive (the admin path also ends sessions)
    await ctx.database.rows(
      (await import('drizzle-orm')).sql`update users set is_active = false where id = ${a.id}`,
    )
    expectProblem(await refresh(a.refresh), 403)
    expectProblem(await me(a.access), 403)
  })
})

describe('sessions', () => {
  test('logout ends only the current session; logout-all ends every one', async () => {
    const a = await account(ctx)
    const second = await login(ctx, a.username)
    const third = await login(ctx, a.username)
    const logout = await ctx.req('POST', '/api/v1/auth/logout', { token: a.access })
    expect(logout.status).toBe(204)
    expect(logout.text).toBe('')
    expectProblem(await me(a.access), 401)
    expect((await me(second.body.access_token)).status).toBe(200)
    expect(
      (await ctx.req('POST', '/api/v1/auth/logout-all', { token: second.body.access_token })).status,
    ).toBe(204)
    expectProblem(await me(second.body.access_token), 401)
    expectProblem(await me(third.body.access_token), 401)
    expectProblem(await refresh(third.body.refresh_token), 401)
  })

  test('GET /auth/sessions lists my live sessions with the current flag; DELETE ends another device', async () => {
    const a = await account(ctx)
    const other = await login(ctx, a.username)
    const res = await ctx.req('GET', '/api/v1/auth/sessions', { token: a.access })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ total: 2, page: 1, page_size: 20, pages: 1 })
    expect(res.body.items).toHaveLength(2)
    const current = res.body.items.find((s: { current: boolean }) => s.current)
    expect(current.id).toBe((await ctx.jwt.verifyAccess(a.access))!.sid)
    expect(Object.keys(current).sort()).toEqual([
      'created_at',
      'current',
      'id',
      'ip',
      'last_used_at',
      'user_agent',
    ])
    expect(current.user_agent).toBe('identity-test')
    expect(current.ip).toMatch(/^10\./)
    const otherId = (await ctx.jwt.verifyAccess(other.body.access_token))!.sid
    expect((await ctx.req('DELETE', `/api/v1/auth/sessions/${otherId}`, { token: a.access })).status).toBe(
      204,
    )
    expectProblem(await me(other.body.access_token), 401)
    const after = await ctx.req('GET', '/api/v1/auth/sessions', { token: a.access })
    expect(after.body.items.map((s: { id: string }) => s.id)).toEqual([current.id])
  })

  test('GET /auth/sessions is paginated like every list; bad page parameters are a 422', async () => {
    const a = await account(ctx)
    for (let i = 0; i < 3; i++) expect((await login(ctx, a.username)).status).toBe(200)
    const p1 = await ctx.req('GET', '/api/v1/auth/sessions?page_size=3', { token: a.access })
    expect(p1.body).toMatchObject({ total: 4, page: 1, page_size: 3, pages: 2 })
    const p2 = await ctx.req('GET', '/api/v1/auth/sessions?page_size=3&page=2', { token: a.access })
    expect(p2.body.items).toHaveLength(1)
    const ids = [...p1.body.items, ...p2.body.items].map((s: { id: string }) => s.id)
    expect(new Set(ids).size).toBe(4)
    expectProblem(await ctx.req('GET', '/api/v1/auth/sessions?page_size=101', { token: a.access }), 422)
    expectProblem(await ctx.req('GET', '/api/v1/auth/sessions?sort=ip', { token: a.access }), 422)
  })

  test("someone else's session, an unknown one and a malformed id are 404", async () => {
    const a = await account(ctx)
    const b = await account(ctx)
    const bSid = (await ctx.jwt.verifyAccess(b.access))!.sid
    expectProblem(await ctx.req('DELETE', `/api/v1/auth/sessions/${bSid}`, { token: a.access }), 404)
    expectProblem(await ctx.req('DELETE', '/api/v1/auth/sessions/not-a-uuid', { token: a.access }), 404)
    expect((await me(b.access)).status).toBe(200)
  })

  test('login records user agent, IP and a session that expires after the refresh TTL', async () => {
    const a = await account(ctx)
    const sid = (await ctx.jwt.verifyAccess(a.access))!.sid
    const [row] = await ctx.db.select().from(sessions).where(eq(sessions.id, sid))
    expect(row!.userAgent).toBe('identity-test')
    const ttl = row!.expiresAt.getTime() - row!.createdAt.getTime()
    expect(Math.abs(ttl - ctx.settings.REFRESH_TOKEN_TTL_SECONDS * 1000)).toBeLessThan(5_000)
  })
})
