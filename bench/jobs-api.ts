/**
 * What busy job workers cost the API: authenticated reads (GET /tasks/{id}, wrk, 64 connections)
 * on a Taskbase whose own runner is idle, then while it drains report jobs (--workers at once, default 8, each a real
 * report of a 200-task project: six aggregate queries). Rounds alternate idle and busy; medians.
 *
 *   bun bench/jobs-api.ts [--seconds=10] [--rounds=3] [--connections=64] [--workers=8] [--yield=16]
 * (--yield sets JOBS_YIELD_AT_REQUESTS: 0 lets the workers run flat out whatever the API load.)
 * Needs wrk and a PostgreSQL on 127.0.0.1:5432 (a fresh database is made and dropped).
 */
import postgres from 'postgres'
import { JOBS_CHANNEL } from '../src/jobs/queue'
import { api, freshPostgres, startTaskbase, table, userToken, wrk } from './lib'

const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def
const seconds = Number(arg('seconds', '10'))
const rounds = Number(arg('rounds', '3'))
const connections = Number(arg('connections', '64'))
const workers = Number(arg('workers', '8'))
const yieldAt = arg('yield', '16')
const JOBS = 100_000

const pg = await freshPostgres()
process.env.BENCH_SOURCE ??= '1'
const server = await startTaskbase({
  DATABASE_URL: pg.url,
  DB_POOL_MAX: '16',
  JOBS_CONCURRENCY: String(Math.max(8, workers)),
  JOBS_TYPE_CONCURRENCY: `report=${workers}`,
  JOBS_YIELD_AT_REQUESTS: yieldAt,
})
const sql = postgres(pg.url, { max: 2, onnotice: () => {} })
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
try {
  const token = await userToken(server.base)
  const project = await api<{ id: string }>(
    server.base,
    'POST',
    '/projects',
    { name: 'Jobs API bench' },
    token,
  )
  let taskId = ''
  for (let i = 0; i < 200; i += 20) {
    const made = await Promise.all(
      Array.from({ length: 20 }, (_, j) =>
        api<{ id: string }>(
          server.base,
          'POST',
          `/projects/${project.id}/tasks`,
          { title: `Task ${i + j}`, priority: 'high' },
          token,
        ),
      ),
    )
    taskId ||= made[0]!.id
  }
  const read = () =>
    wrk({
      url: `${server.base}/api/v1/tasks/${taskId}`,
      connections,
      seconds,
      headers: { authorization: `Bearer ${token}` },
    })
  await wrk({
    url: `${server.base}/api/v1/tasks/${taskId}`,
    connections: 16,
    seconds: 2,
    headers: { authorization: `Bearer ${token}` },
  }) // warm-up

  const idle: Awaited<ReturnType<typeof read>>[] = []
  const busy: Awaited<ReturnType<typeof read>>[] = []
  const drained: number[] = []
  for (let r = 0; r < rounds; r++) {
    idle.push(await read())
    // enough report jobs that the workers are busy for the whole run
    await sql`insert into jobs (id, type, payload, max_attempts)
      select gen_random_uuid(), 'report', ${sql.json({ project_id: project.id })}, 1
      from generate_series(1, ${JOBS})`
    await sql`select pg_notify(${JOBS_CHANNEL}, 'report')`
    await Bun.sleep(200)
    const [before] =
      await sql`select count(*)::int as n from jobs where type = 'report' and status = 'succeeded'`
    busy.push(await read())
    const [after] =
      await sql`select count(*)::int as n from jobs where type = 'report' and status = 'succeeded'`
    drained.push((after!.n - before!.n) / seconds)
    const [left] =
      await sql`with gone as (delete from jobs where status = 'queued' returning 1) select count(*)::int as n from gone`
    if (!left!.n) console.warn('the workers ran out of jobs during the run: raise JOBS')
    await Bun.sleep(1000) // running reports finish
  }
  const row = (name: string, runs: typeof idle, extra: string | number) => ({
    runner: name,
    'req/s': Math.round(median(runs.map((x) => x.rps))),
    'p50 ms': median(runs.map((x) => x.p50)),
    'p99 ms': median(runs.map((x) => x.p99)),
    errors: runs.reduce((n, x) => n + x.errors, 0),
    'reports/s': extra,
  })
  const rows = [
    row('idle', idle, 0),
    row(`busy (${workers} report workers, yield at ${yieldAt})`, busy, Math.round(median(drained))),
  ]
  const kept = (100 * Number(rows[1]!['req/s'])) / Number(rows[0]!['req/s'])
  console.log(
    `\nGET /tasks/{id}, wrk ${connections} connections, ${seconds} s, ${rounds} rounds (medians), ${navigator.hardwareConcurrency} cores, PostgreSQL\n`,
  )
  console.log(table(rows))
  console.log(`\nreads kept ${kept.toFixed(0)} % of their idle req/s while the workers were busy`)
} finally {
  await sql.end()
  await server.stop()
  await pg.drop()
}
