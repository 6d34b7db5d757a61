import { describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { idempotencyKeys, sessions, users } from '../../src/db/schema'
import { sha256Hex } from '../../src/lib/crypto'
import { createUser, expectProblem, unique } from '../helpers/app'
import { API, testApp } from '../helpers/projects-fixtures'

/** The keyed POST's token lookup is shared with the guard, but must never outlive its request. */
describe('Idempotency-Key: the shared token lookup', () => {
  const mismatch = async (ctx: Awaited<ReturnType<typeof testApp>>, token: string) => {
    const key = unique('key-')
    const first = await ctx.req('POST', `${API}/projects`, {
      token,
      body: { name: unique('P ') },
      headers: { 'idempotency-key': key },
    })
    expect(first.status).toBe(201)
    expectProblem(
      await ctx.req('POST', `${API}/projects`, {
        token,
        body: { name: unique('Other ') },
        headers: { 'idempotency-key': key },
      }),
      422,
    )
  }

  test('after a 422 key mismatch, a deactivated user is refused on the very next request', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    await mismatch(ctx, me.token)
    await ctx.db.update(users).set({ isActive: false }).where(eq(users.id, me.id))
    expectProblem(await ctx.req('GET', `${API}/users/me`, { token: me.token }), 403, 'forbidden')
  })

  test('after a 422 key mismatch, a revoked session is refused on the very next request', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    await mismatch(ctx, me.token)
    await ctx.db.update(sessions).set({ revokedAt: new Date() }).where(eq(sessions.id, me.sessionId))
    expectProblem(await ctx.req('GET', `${API}/users/me`, { token: me.token }), 401, 'unauthorized')
  })

  test('after a 409 (key still in progress), a deactivated user is refused on the next request', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const key = unique('key-')
    const name = unique('P ')
    // a claim of this very request that is still running: no response stored yet
    await ctx.db.insert(idempotencyKeys).values({
      userId: me.id,
      key,
      requestHash: sha256Hex(`POST ${API}/projects\n{"name":${JSON.stringify(name)}}`),
      expiresAt: new Date(Date.now() + 60_000),
    })
    const busy = await ctx.req('POST', `${API}/projects`, {
      token: me.token,
      body: { name },
      headers: { 'idempotency-key': key },
    })
    expectProblem(busy, 409, 'conflict')
    await ctx.db.update(users).set({ isActive: false }).where(eq(users.id, me.id))
    expectProblem(await ctx.req('GET', `${API}/users/me`, { token: me.token }), 403, 'forbidden')
  })

  test('routes without the guard are never keyed, whatever bearer token comes along', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const key = unique('anon-')
    for (const token of [me.token, 'garbage']) {
      const res = await ctx.req('POST', `${API}/auth/login`, {
        token,
        body: { username: unique('nobody'), password: 'Wrong-Passw0rd!' },
        headers: { 'idempotency-key': key },
      })
      expect(res.status).toBe(401)
      expect(res.headers.get('idempotency-replayed')).toBeNull()
    }
    const rows = await ctx.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key))
    expect(rows).toHaveLength(0)
  })
})
