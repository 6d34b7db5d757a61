/**
 * Job queue figures on the database this process is pointed at (DATABASE_URL, else an in-memory
 * embedded PGlite): throughput draining no-op jobs, and the latency from the commit of an enqueue
 * to the start of its job with the database's wake-up (NOTIFY) and no polling.
 *
 *   bun bench/jobs.ts                 # embedded
 *   DATABASE_URL=postgres://... bun bench/jobs.ts
 */
import { eq } from 'drizzle-orm'
import { createDatabase } from '../src/db/client'
import { migrate } from '../src/db/migrate'
import { jobs } from '../src/db/schema'
import { enqueue } from '../src/jobs/queue'
import { JobRunner } from '../src/jobs/runner'
import { memoryLogger } from '../src/lib/logger'

const N = Number(process.env.JOBS ?? 1000)
const database = await createDatabase({
  DATABASE_URL: process.env.DATABASE_URL || undefined,
  DATA_DIR: '',
  memory: true,
  DB_POOL_MAX: 10,
  DB_STATEMENT_TIMEOUT_MS: 30_000,
})
await migrate(database)
const logger = memoryLogger('error').logger
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!

// 1. throughput: N no-op jobs inserted at once, then drained
const type = `bench-noop-${Date.now()}`
let done = 0
let allDone!: () => void
const finished = new Promise<void>((r) => {
  allDone = r
})
const runner = new JobRunner({
  database,
  logger,
  concurrency: Number(process.env.JOBS_CONCURRENCY ?? 16),
  pollIntervalMs: 60_000,
  definitions: [
    {
      type,
      handle: async () => {
        if (++done === N) allDone()
      },
    },
  ],
})
for (let i = 0; i < N; i += 500)
  await database.db.insert(jobs).values(Array.from({ length: Math.min(500, N - i) }, () => ({ type })))
const t0 = performance.now()
await runner.start()
await finished
const seconds = (performance.now() - t0) / 1000
await runner.stop()

// 2. latency: enqueue one job at a time (committed), time until its handler starts
const latType = `bench-latency-${Date.now()}`
const lat: number[] = []
let startedAt = 0
let started!: () => void
const latRunner = new JobRunner({
  database,
  logger,
  concurrency: 4,
  pollIntervalMs: 60_000,
  definitions: [
    {
      type: latType,
      handle: async () => {
        startedAt = performance.now()
        started()
      },
    },
  ],
})
await latRunner.start()
for (let i = 0; i < 200; i++) {
  const wait = new Promise<void>((r) => {
    started = r
  })

  await enqueue(database.db, { type: latType })
  const committed = performance.now()
  await wait
  lat.push(Math.max(0, startedAt - committed))
  await Bun.sleep(5)
}
await latRunner.stop()
const left = await database.db.select({ id: jobs.id }).from(jobs).where(eq(jobs.type, type))
console.log(
  JSON.stringify(
    {
      database: database.kind,
      jobs: N,
      drain_seconds: Number(seconds.toFixed(3)),
      jobs_per_second: Math.round(N / seconds),
      enqueue_commit_to_start_ms: {
        p50: Number(pct(lat, 0.5).toFixed(2)),
        p99: Number(pct(lat, 0.99).toFixed(2)),
      },
      rows_left: left.length,
    },
    null,
    1,
  ),
)
await database.close()
