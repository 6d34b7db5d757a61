import { expect, test } from 'bun:test'
import { createTestApp, createUser, expectProblem } from '../helpers/app'
import { usingPostgres } from '../helpers/db'

test('GET /admin/backup: superadmin only; the snapshot on the embedded database, a 409 pointing to pg_dump on PostgreSQL', async () => {
  const ctx = await createTestApp()
  const admin = await createUser(ctx, { role: 'admin' })
  const root = await createUser(ctx, { role: 'superadmin' })
  expectProblem(await ctx.req('GET', '/api/v1/admin/backup'), 401, 'unauthorized')
  expectProblem(await ctx.req('GET', '/api/v1/admin/backup', { token: admin.token }), 403, 'forbidden')
  const res = await ctx.req('GET', '/api/v1/admin/backup', { token: root.token })
  if (usingPostgres()) {
    expect(expectProblem(res, 409, 'conflict').detail).toContain('pg_dump')
  } else {
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/gzip')
    expect(res.headers.get('cache-control')).toBe('no-store')
  }
})
