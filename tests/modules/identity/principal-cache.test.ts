import { beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { sessions } from '../../../src/db/schema'
import { memoryLogger } from '../../../src/lib/logger'
import { createAuthenticator, type Principal } from '../../../src/modules/identity/principal'
import { PrincipalCache } from '../../../src/modules/identity/principal-cache'
import { createTestApp, createUser, expectProblem, type TestContext } from '../../helpers/app'
import { countQueries } from '../../helpers/db'
import { account, identityApp, login } from './helpers'

/**
 * Issue 15: the embedded server keeps principals (token → user, session or API token) in memory,
 * and every change to a user, session or API token drops that user's entries before the write's
 * own call returns (a trigger's NOTIFY, delivered in-process by PGlite). PostgreSQL mode does not
 * cache (instances cannot learn of each other's writes in the same instant), so the revocation
 * tests below hold on both databases, and the query counts differ.
 */
const principal = (userId: string, sessionId = 's1'): Principal => ({
  user: { id: userId } as Principal['user'],
  via: 'session',
  sessionId,
  tokenId: null,
  scope: 'write',
  expiresAt: null,
})

describe('PrincipalCache', () => {
  test('serves an entry until it expires; stores nothing before it is active', () => {
    let now = 1_000
    const cache = new PrincipalCache(10, () => now)
    cache.set(
      'a',
      { principal: principal('u1'), validUntil: 2_000, usedAt: now, touch: () => {} },
      cache.mark(),
    )
    expect(cache.get('a')).toBeUndefined()
    cache.activate()
    cache.set(
      'a',
      { principal: principal('u1'), validUntil: 2_000, usedAt: now, touch: () => {} },
      cache.mark(),
    )
    expect(cache.get('a')?.principal.user.id).toBe('u1')
    now = 2_000
    expect(cache.get('a')).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  test('invalidate drops every entry of that user, and a fill that raced it is not stored', () => {
    const cache = new PrincipalCache(10)
    cache.activate()
    const entry = (u: string) => ({
      principal: principal(u),
      validUntil: Infinity,
      usedAt: 0,
      touch: () => {},
    })
    cache.set('a', entry('u1'), cache.mark())
    cache.set('b', entry('u1'), cache.mark())
    cache.set('c', entry('u2'), cache.mark())
    const mark = cache.mark()
    cache.invalidate('u1')
    expect([cache.get('a'), cache.get('b')]).toEqual([undefined, undefined])
    expect(cache.get('c')?.principal.user.id).toBe('u2')
    // read from the database before the change, arriving after it: dropped
    cache.set('a', entry('u1'), mark)
    expect(cache.get('a')).toBeUndefined()
  })

  test('is bounded: the least recently used entry goes first', () => {
    const cache = new PrincipalCache(2)
    cache.activate()
    const entry = { principal: principal('u'), validUntil: Infinity, usedAt: 0, touch: () => {} }
    cache.set('a', entry, cache.mark())
    cache.set('b', entry, cache.mark())
    cache.get('a')
    cache.set('c', entry, cache.mark())
    expect(cache.size).toBe(2)
    expect(cache.get('b')).toBeUndefined()
    expect(cache.get('a')).toBeDefined()
  })
})

describe('cached principals over HTTP: every change takes effect on the next request', () => {
  let ctx: TestContext
  let admin: Awaited<ReturnType<typeof createUser>>
  beforeAll(async () => {
    ctx = await identityApp()
    admin = await createUser(ctx, { role: 'superadmin' })
  })
  const me = (token: string) => ctx.req('GET', '/api/v1/users/me', { token })
  const warm = async (token: string) => {
    expect((await me(token)).status).toBe(200)
    // (a new API token's first use writes its last_used_at off the request path: let it land)
    await Bun.sleep(50)
    const { count } = await countQueries(() => me(token))
    // embedded: the second request is answered from memory; PostgreSQL: one lookup each time
    expect(count).toBe(ctx.database.kind === 'pglite' ? 0 : 1)
  }

  test('logout', async () => {
    const a = await account(ctx)
    await warm(a.access)
    const out = await ctx.req('POST', '/api/v1/auth/logout', {
      token: a.access,
      body: { refresh_token: a.refresh },
    })
    expect(out.status).toBe(204)
    expectProblem(await me(a.access), 401)
  })

  test('a session revoked from another session, and a session row changed in the database directly', async () => {
    const a = await account(ctx)
    const other = await createUser(ctx)
    await warm(other.token)
    await ctx.db.update(sessions).set({ revokedAt: new Date() }).where(eq(sessions.id, other.sessionId))
    expectProblem(await me(other.token), 401)
    await warm(a.access)
    const list = await ctx.req('GET', '/api/v1/auth/sessions', { token: a.access })
    const mine = list.body.items[0].id as string
    expect((await ctx.req('DELETE', `/api/v1/auth/sessions/${mine}`, { token: a.access })).status).toBe(204)
    expectProblem(await me(a.access), 401)
  })

  test('a role change and a deactivation by an admin', async () => {
    const a = await account(ctx)
    await warm(a.access)
    const role = await ctx.req('PATCH', `/api/v1/users/${a.id}`, {
      token: admin.token,
      body: { role: 'admin' },
    })
    expect(role.status).toBe(200)
    expect((await me(a.access)).body.role).toBe('admin')
    await warm(a.access)
    const off = await ctx.req('PATCH', `/api/v1/users/${a.id}`, {
      token: admin.token,
      body: { is_active: false },
    })
    expect(off.status).toBe(200)
    // deactivation ends the user's sessions too
    expectProblem(await me(a.access), 401)
  })

  test('my own profile change is seen at once, with its new version', async () => {
    const a = await account(ctx)
    await warm(a.access)
    const before = await me(a.access)
    const res = await ctx.req('PATCH', '/api/v1/users/me', {
      token: a.access,
      body: { full_name: 'Renamed' },
    })
    expect(res.status).toBe(200)
    const after = await me(a.access)
    expect(after.body.full_name).toBe('Renamed')
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'))
  })

  test('an API token revoked, and a user deleted', async () => {
    const a = await account(ctx)
    const made = await ctx.req('POST', '/api/v1/users/me/tokens', {
      token: a.access,
      body: { name: 'ci', scope: 'read' },
    })
    expect(made.status).toBe(201)
    await warm(made.body.token)
    expect(
      (await ctx.req('DELETE', `/api/v1/users/me/tokens/${made.body.id}`, { token: a.access })).status,
    ).toBe(204)
    expectProblem(await me(made.body.token), 401)
    await warm(a.access)
    expect((await ctx.req('DELETE', `/api/v1/users/${a.id}`, { token: admin.token })).status).toBe(204)
    expectProblem(await me(a.access), 401)
  })

  test('a password change ends the other sessions at once', async () => {
    const a = await account(ctx)
    const second = await login(ctx, a.username, a.password)
    const other = second.body.access_token as string
    await warm(other)
    const res = await ctx.req('POST', '/api/v1/users/me/password', {
      token: a.access,
      body: { current_password: a.password, new_password: 'An0ther-Secret!' },
    })
    expect(res.status).toBe(204)
    expectProblem(await me(other), 401)
    expect((await me(a.access)).status).toBe(200)
  })
})

test('AUTH_CACHE_SIZE=0 turns the cache off', async () => {
  const off = await createTestApp({ env: { AUTH_CACHE_SIZE: '0' } })
  const u = await createUser(off)
  await off.req('GET', '/api/v1/users/me', { token: u.token })
  const { count } = await countQueries(() => off.req('GET', '/api/v1/users/me', { token: u.token }))
  expect(count).toBe(1)
})

test('a cached session still refreshes last_used_at once a minute, off the request path', async () => {
  const ctx = await createTestApp()
  const cache = new PrincipalCache(10)
  cache.activate()
  const authenticate = createAuthenticator(ctx.db, ctx.jwt, memoryLogger().logger, cache)
  const u = await createUser(ctx)
  expect((await authenticate(u.token))?.sessionId).toBe(u.sessionId)
  const old = new Date(Date.now() - 3_600_000)
  await ctx.db.update(sessions).set({ lastUsedAt: old }).where(eq(sessions.id, u.sessionId))
  // last_used_at alone is not a change that drops the entry: the next call is a hit...
  cache.get(u.token)!.usedAt = old.getTime()
  const hit = await countQueries(() => authenticate(u.token))
  expect(hit.result?.sessionId).toBe(u.sessionId)
  // ...that writes last_used_at (its only statement)
  expect(hit.statements).toHaveLength(1)
  expect(hit.statements[0]).toStartWith('update "sessions" set "last_used_at"')
  expect(cache.get(u.token)!.usedAt).toBeGreaterThan(old.getTime())
})
