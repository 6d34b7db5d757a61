import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import { createApp } from '../../../src/app'
import { createDatabase, type Database } from '../../../src/db/client'
import { migrate } from '../../../src/db/migrate'
import { memoryLogger } from '../../../src/lib/logger'
import { createTestApp, createUser, type TestContext } from '../../helpers/app'
import { postgresServerUrl, usingPostgres } from '../../helpers/db'
import { API, makeProject, makeTask } from '../../helpers/projects-fixtures'

/**
 * Issue 7 #1 (tasks and comments): N concurrent PATCHes without If-Match all succeed and the
 * version rises by N (API.md: without If-Match the last write wins). Only real PostgreSQL has
 * real concurrency (the embedded database runs one statement at a time), so this file runs on
 * DATABASE_URL's server, or on a throwaway database of the local one; with neither, it skips
 * and says why.
 */
const serverUrl = await postgresServerUrl()
const run = serverUrl ? describe : describe.skip
if (!serverUrl)
  console.warn(
    'SKIPPED tests/tasks/concurrency.test.ts: no PostgreSQL reachable (set DATABASE_URL or TEST_POSTGRES_URL)',
  )

const N = 8
let ctx: TestContext
let own: { database: Database; admin: postgres.Sql; name: string } | undefined

beforeAll(async () => {
  if (!serverUrl) return
  if (usingPostgres()) {
    ctx = await createTestApp()
    return
  }
  // DATABASE_URL unset: a fresh database on the local server, dropped afterwards
  const name = `tb_concurrency_${process.pid}_${Date.now().toString(36)}`
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  const database = await createDatabase({
    DATABASE_URL: url.toString(),
    DATA_DIR: '',
    DB_POOL_MAX: N + 2,
    DB_STATEMENT_TIMEOUT_MS: 30_000,
  })
  own = { database, admin, name }
  await migrate(database)
  const base = await createTestApp()
  const logs = memoryLogger('info')
  const deps = { ...base.deps, database, logger: logs.logger }
  const app = createApp(deps)
  ctx = {
    ...base,
    app,
    deps,
    database,
    db: database.db,
    logs,
    // the shared helper's request function, pointed at this app
    req: async (method, path, o = {}) => {
      const headers: Record<string, string> = { ...o.headers }
      if (o.token) headers.authorization = `Bearer ${o.token}`
      let body: string | undefined
      if (o.body !== undefined) {
        body = JSON.stringify(o.body)
        headers['content-type'] ??= 'application/json'
      }
      const res = await app.handle(new Request(`http://localhost${path}`, { method, headers, body }))
      const text = await res.text()
      return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined, text }
    },
  } as TestContext
}, 60_000)

afterAll(async () => {
  if (!own) return
  await own.database.close()
  await own.admin.unsafe(`drop database if exists ${own.name} with (force)`)
  await own.admin.end({ timeout: 5 })
})

run(`${N} concurrent PATCHes without If-Match on PostgreSQL: all 200, version +${N}`, () => {
  test('PATCH /tasks/{id}', async () => {
    expect(ctx.database.kind).toBe('postgres')
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    const t = await makeTask(ctx, me, p.id)
    const res = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        ctx.req('PATCH', `${API}/tasks/${t.id}`, { token: me.token, body: { title: `race ${i}` } }),
      ),
    )
    expect(res.map((r) => r.status)).toEqual(Array(N).fill(200))
    // each write saw the one before it: versions 2..N+1, each once
    expect(res.map((r) => r.body.version).sort((a, b) => a - b)).toEqual(
      Array.from({ length: N }, (_, i) => t.version + 1 + i),
    )
    const after = await ctx.req('GET', `${API}/tasks/${t.id}`, { token: me.token })
    expect(after.body.version).toBe(t.version + N)
    // the last write won: the stored title is the one the highest version returned
    const last = res.find((r) => r.body.version === t.version + N)!
    expect(after.body.title).toBe(last.body.title)
  })

  test('PATCH /comments/{id}', async () => {
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    const t = await makeTask(ctx, me, p.id)
    const c = await ctx.req('POST', `${API}/tasks/${t.id}/comments`, {
      token: me.token,
      body: { body: 'v0' },
    })
    expect(c.status).toBe(201)
    const res = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        ctx.req('PATCH', `${API}/comments/${c.body.id}`, { token: me.token, body: { body: `race ${i}` } }),
      ),
    )
    expect(res.map((r) => r.status)).toEqual(Array(N).fill(200))
    expect(res.map((r) => r.body.version).sort((a, b) => a - b)).toEqual(
      Array.from({ length: N }, (_, i) => c.body.version + 1 + i),
    )
    const after = await ctx.req('GET', `${API}/comments/${c.body.id}`, { token: me.token })
    expect(after.body.version).toBe(c.body.version + N)
  })

  test('with the same If-Match, exactly one of the concurrent PATCHes wins; the others get 412', async () => {
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    const t = await makeTask(ctx, me, p.id)
    const res = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        ctx.req('PATCH', `${API}/tasks/${t.id}`, {
          token: me.token,
          body: { title: `if-match ${i}` },
          headers: { 'if-match': `"${t.version}"` },
        }),
      ),
    )
    expect(res.filter((r) => r.status === 200)).toHaveLength(1)
    expect(res.filter((r) => r.status === 412)).toHaveLength(N - 1)
    const after = await ctx.req('GET', `${API}/tasks/${t.id}`, { token: me.token })
    expect(after.body.version).toBe(t.version + 1)
  })
})
