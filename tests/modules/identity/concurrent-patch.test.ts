import { beforeAll, describe, expect, test } from 'bun:test'
import { createTestApp, createUser, type TestContext } from '../../helpers/app'
import { usingPostgres } from '../../helpers/db'

/**
 * Real concurrency needs real connections: on the embedded database every statement runs one at
 * a time, so these run only with DATABASE_URL (CI's PostgreSQL run).
 */
const run = usingPostgres() ? describe : describe.skip
if (!usingPostgres()) console.warn('skipped: concurrent PATCH tests need DATABASE_URL (PostgreSQL)')

let ctx: TestContext
beforeAll(async () => {
  if (usingPostgres()) ctx = await createTestApp()
})

run('concurrent PATCHes without If-Match: the last write wins, none fails', () => {
  test('8 concurrent PATCH /users/me → all 200, version +8', async () => {
    const u = await createUser(ctx)
    const before = (await ctx.req('GET', '/api/v1/users/me', { token: u.token })).body.version
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        ctx.req('PATCH', '/api/v1/users/me', { token: u.token, body: { full_name: `Name ${i}` } }),
      ),
    )
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200))
    const after = await ctx.req('GET', '/api/v1/users/me', { token: u.token })
    expect(after.body.version).toBe(before + 8)
    expect(results.map((r) => r.body.full_name)).toContain(after.body.full_name)
  })

  test('8 concurrent admin PATCH /users/{id} → all 200, version +8', async () => {
    const admin = await createUser(ctx, { role: 'admin' })
    const u = await createUser(ctx)
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        ctx.req('PATCH', `/api/v1/users/${u.id}`, { token: admin.token, body: { full_name: `Admin ${i}` } }),
      ),
    )
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200))
    const after = await ctx.req('GET', `/api/v1/users/${u.id}`, { token: admin.token })
    expect(after.body.version).toBe(1 + 8)
  })

  test('8 concurrent PATCH /projects/{id} → all 200, version +8', async () => {
    const u = await createUser(ctx)
    const p = await ctx.req('POST', '/api/v1/projects', { token: u.token, body: { name: 'Race' } })
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        ctx.req('PATCH', `/api/v1/projects/${p.body.id}`, { token: u.token, body: { description: `d${i}` } }),
      ),
    )
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200))
    const after = await ctx.req('GET', `/api/v1/projects/${p.body.id}`, { token: u.token })
    expect(after.body.version).toBe(p.body.version + 8)
  })
})
