/**
 * Proves the task export streams in constant memory: seeds 100k tasks in one project on a fresh
 * PostgreSQL, starts Taskbase from source, streams the CSV and the NDJSON export while sampling the
 * server's RSS, and reports the peak added over the idle baseline.
 * Usage: bun bench/export-rss.ts [--tasks=100000]   (needs PostgreSQL on 127.0.0.1:5432)
 */
import { readFileSync } from 'node:fs'
import { createDatabase } from '../src/db/client'
import { migrate } from '../src/db/migrate'
import { sessions } from '../src/db/schema'
import { createJwt } from '../src/modules/identity/access-tokens'
import { seedProject, seedTasks, seedUsers } from './explain'
import { freshPostgres, startTaskbase } from './lib'

const SECRET = 'bench-secret-key-0123456789-abcdefghijkl'
const n = Number(process.argv.find((a) => a.startsWith('--tasks='))?.split('=')[1] ?? '100000')
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`

function rssKib(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/)
  return m ? Number(m[1]) : 0
}

const pg = await freshPostgres()
const database = await createDatabase({
  DATABASE_URL: pg.url,
  DATA_DIR: '',
  DB_POOL_MAX: 2,
  DB_STATEMENT_TIMEOUT_MS: 0,
})
process.env.BENCH_SOURCE = '1'
let server: Awaited<ReturnType<typeof startTaskbase>> | undefined
try {
  await migrate(database)
  const [me] = await seedUsers(database, 1)
  const project = await seedProject(database, me!, [], 'Export bench')
  const t0 = performance.now()
  await seedTasks(database, project.id, n, [me!])
  console.log(`seeded ${n} tasks in ${Math.round(performance.now() - t0)} ms`)
  const [session] = await database.db
    .insert(sessions)
    .values({ userId: me!, expiresAt: new Date(Date.now() + 3_600_000) })
    .returning()
  const token = (await createJwt(SECRET, 'HS256').signAccess(me!, session!.id, 3600)).token

  server = await startTaskbase({ DATABASE_URL: pg.url, SECRET_KEY: SECRET })
  const pid = server.proc.pid
  const url = `${server.base}/api/v1/projects/${project.id}/tasks/export`
  const headers = { authorization: `Bearer ${token}` }
  // Warm up (JIT, pool, prepared statements) with a small filtered export, then settle
  await (await fetch(`${url}?status=done&due_before=2026-01-10`, { headers })).text()
  Bun.gc(true)
  await Bun.sleep(500)

  for (const format of ['csv', 'ndjson']) {
    const baseline = rssKib(pid)
    let peak = baseline
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssKib(pid))
    }, 10)
    const started = performance.now()
    const res = await fetch(`${url}?format=${format}`, { headers })
    let bytes = 0
    let lines = 0
    const reader = res.body!.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      bytes += value.byteLength
      for (const b of value) if (b === 10) lines++
    }
    clearInterval(sampler)
    peak = Math.max(peak, rssKib(pid))
    console.log(
      `${format}: status ${res.status}, ${lines} lines, ${(bytes / 1048576).toFixed(1)} MiB in ${Math.round(performance.now() - started)} ms; ` +
        `server RSS baseline ${mib(baseline)}, peak ${mib(peak)}, added ${mib(peak - baseline)}`,
    )
  }
} finally {
  await server?.stop()
  await database.close()
  await pg.drop()
}
