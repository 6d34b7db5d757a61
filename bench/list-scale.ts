/**
 * Does a task list cost more in a big project? Page 1 of a 50-task project against page 1 of a
 * 100k-task project (no filter, and a status filter), then deep pages: page 2,000 by offset
 * against the same position by cursor. wrk, 64 connections, through the running server.
 *
 *   bun bench/list-scale.ts [--db=both|postgres|embedded] [--tasks=100000] [--seconds=8]
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { createDatabase } from '../src/db/client'
import { seedTasks } from './explain'
import { api, freshPostgres, startTaskbase, table, userToken, wrk } from './lib'

const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def
const which = arg('db', 'both')
const dbs = which === 'both' ? ['postgres', 'embedded'] : [which]
const n = Number(arg('tasks', '100000'))
const seconds = Number(arg('seconds', '8'))
const rows: Record<string, string | number>[] = []

for (const db of dbs) {
  const pg = db === 'postgres' ? await freshPostgres() : null
  const cwd = mkdtempSync(join(tmpdir(), 'tb-list-'))
  const env: Record<string, string> = pg
    ? { DATABASE_URL: pg.url }
    : { DATABASE_URL: '', DATA_DIR: join(cwd, 'data') }
  let server = await startTaskbase(env, cwd)
  const token = await userToken(server.base)
  const me = await api<{ id: string }>(server.base, 'GET', '/users/me', undefined, token)
  const small = await api<{ id: string }>(server.base, 'POST', '/projects', { name: 'Small' }, token)
  const big = await api<{ id: string }>(server.base, 'POST', '/projects', { name: 'Big' }, token)
  // seed with SQL (the embedded data dir has one owner at a time: stop the server meanwhile)
  if (!pg) await server.stop()
  const database = await createDatabase({
    DATABASE_URL: pg?.url,
    DATA_DIR: env.DATA_DIR ?? '',
    DB_POOL_MAX: 2,
    DB_STATEMENT_TIMEOUT_MS: 0,
  })
  const t0 = performance.now()
  await seedTasks(database, small.id, 50, [me.id])
  await seedTasks(database, big.id, n, [me.id])
  await database.rows(sql.raw('analyze tasks'))
  await database.close()
  console.log(`${db}: seeded ${n} tasks in ${Math.round(performance.now() - t0)} ms`)
  if (!pg) server = await startTaskbase(env, cwd)

  const url = (project: string, q: string) => `${server.base}/api/v1/projects/${project}/tasks?${q}`
  const deep = await api<{ next_cursor?: string }>(
    server.base,
    'GET',
    `/projects/${big.id}/tasks?page=1999&page_size=20`,
    undefined,
    token,
  )
  const cases: [string, string][] = [
    ['50 tasks, page 1', url(small.id, 'page_size=20')],
    [`${n / 1000}k tasks, page 1`, url(big.id, 'page_size=20')],
    ['50 tasks, page 1, status=todo', url(small.id, 'page_size=20&status=todo')],
    [`${n / 1000}k tasks, page 1, status=todo`, url(big.id, 'page_size=20&status=todo')],
  ]
  // (a build before cursors existed has no next_cursor: that row is left out)
  if (deep.next_cursor)
    cases.push([
      `${n / 1000}k tasks, page 2,000 by cursor`,
      url(big.id, `page_size=20&cursor=${deep.next_cursor}`),
    ])
  // last: its slow requests are still running when wrk stops, and would queue ahead of the next case
  cases.push([`${n / 1000}k tasks, page 2,000 by offset`, url(big.id, 'page_size=20&page=2000')])
  for (const [what, u] of cases) {
    const r = await wrk({ url: u, connections: 64, seconds, headers: { authorization: `Bearer ${token}` } })
    rows.push({
      db,
      list: what,
      'req/s': Math.round(r.rps),
      'p50 ms': r.p50,
      'p99 ms': r.p99,
      errors: r.errors,
    })
    console.log(JSON.stringify(rows.at(-1)))
    await Bun.sleep(1_000)
  }
  await server.stop()
  await pg?.drop()
}
console.log(`\nGET /projects/{id}/tasks, wrk 64 connections, ${seconds} s each\n`)
console.log(table(rows))
