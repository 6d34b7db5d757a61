import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { createDatabase, type Database } from '../../src/db/client'
import { jobs } from '../../src/db/schema'
import { unique } from '../helpers/app'
import { usingPostgres } from '../helpers/db'

/**
 * Issue 9, "must show": jobs survive a SIGKILL of the process running them, and several processes
 * on one PostgreSQL never run a job twice. Real processes (tests/process/fixtures/job-worker.ts) on the
 * database this run uses: DATABASE_URL's, else an embedded one in a temporary DATA_DIR.
 */
const WORKER = join(import.meta.dir, 'fixtures/job-worker.ts')
const dir = mkdtempSync(join(tmpdir(), 'tb-jobs-crash-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const dbEnv = () =>
  usingPostgres()
    ? { DATABASE_URL: process.env.DATABASE_URL! }
    : { DATABASE_URL: '', DATA_DIR: join(dir, 'data') }

function worker(env: Record<string, string>) {
  const proc = Bun.spawn([process.execPath, WORKER], {
    env: { ...process.env, ...dbEnv(), ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const reader = proc.stdout.getReader()
  const ready = (async () => {
    let out = ''
    while (!out.includes('ready')) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`worker exited before ready: ${await new Response(proc.stderr).text()}`)
      out += new TextDecoder().decode(value)
    }
  })()
  return { proc, ready }
}

/** `start`/`end` lines per job id in a run log. */
function runLog(path: string) {
  const lines = (() => {
    try {
      return readFileSync(path, 'utf8').split('\n').filter(Boolean)
    } catch {
      return []
    }
  })()
  const starts = new Map<string, number>()
  const ends = new Map<string, number>()
  for (const line of lines) {
    const [what, id] = line.split(' ') as [string, string]
    const m = what === 'start' ? starts : ends
    m.set(id, (m.get(id) ?? 0) + 1)
  }
  return { starts, ends }
}

async function waitFor(what: string, fn: () => boolean | Promise<boolean>, ms = 30_000) {
  const end = Date.now() + ms
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(20)
  }
}

/** The jobs of `type` by status, read with a connection of our own (embedded: after the worker let go). */
async function jobsOf(type: string) {
  const database: Database = await createDatabase({
    ...dbEnv(),
    DATA_DIR: dbEnv().DATA_DIR ?? '',
    DB_POOL_MAX: 1,
    DB_STATEMENT_TIMEOUT_MS: 30_000,
  })
  try {
    return await database.db
      .select({ id: jobs.id, status: jobs.status, attempts: jobs.attempts })
      .from(jobs)
      .where(eq(jobs.type, type))
  } finally {
    await database.close()
  }
}

describe('jobs and a SIGKILL', () => {
  test('every job enqueued before the kill completes after a restart; none finished is run again', async () => {
    const type = unique('crash')
    const log = join(dir, `${type}.log`)
    const N = 200
    const first = worker({ JOB_TYPE: type, RUN_LOG: log, ENQUEUE: String(N), JOB_MS: '20', LEASE_MS: '1000' })
    await first.ready
    // kill it mid-drain: some jobs finished, some running, most still queued
    await waitFor('40 finished jobs', () => runLog(log).ends.size >= 40)
    first.proc.kill('SIGKILL')
    expect(await first.proc.exited).not.toBe(0)

    const atKill = await jobsOf(type)
    expect(atKill).toHaveLength(N)
    const finished = new Set(atKill.filter((j) => j.status === 'succeeded').map((j) => j.id))
    const unfinished = atKill.filter((j) => j.status !== 'succeeded')
    expect(finished.size).toBeGreaterThan(0)
    expect(unfinished.length).toBeGreaterThan(0)
    // jobs the killed process held are still 'running' under its lease: they come back when it ends
    const orphaned = atKill.filter((j) => j.status === 'running').map((j) => j.id)
    const before = runLog(log)

    const second = worker({
      JOB_TYPE: type,
      RUN_LOG: log,
      JOB_MS: '1',
      LEASE_MS: '1000',
      EXIT_WHEN_DRAINED: '1',
    })
    await second.ready
    expect(await second.proc.exited).toBe(0)

    const after = await jobsOf(type)
    expect(after.filter((j) => j.status !== 'succeeded')).toEqual([])
    const total = runLog(log)
    for (const id of after.map((j) => j.id)) expect(total.ends.get(id) ?? 0).toBeGreaterThanOrEqual(1)
    // a job whose completion committed before the kill is never started again
    for (const id of finished) expect(total.starts.get(id)).toBe(before.starts.get(id))
    // the orphans ran again on the second process, as a second attempt
    for (const id of orphaned) {
      expect(total.starts.get(id)!).toBeGreaterThan(before.starts.get(id) ?? 0)
      expect(after.find((j) => j.id === id)!.attempts).toBeGreaterThanOrEqual(2)
    }
  })
})

if (!usingPostgres()) console.warn('skipped: the two-process drain test needs DATABASE_URL (PostgreSQL)')

describe.skipIf(!usingPostgres())('two instances on one PostgreSQL', () => {
  test('two processes drain 1,000 jobs: each runs exactly once, both take part', async () => {
    const type = unique('pair')
    const logs = [join(dir, `${type}-a.log`), join(dir, `${type}-b.log`)]
    const workers = logs.map((log) => worker({ JOB_TYPE: type, RUN_LOG: log, JOB_MS: '2' }))
    await Promise.all(workers.map((w) => w.ready))
    const database = await createDatabase({
      ...dbEnv(),
      DATA_DIR: '',
      DB_POOL_MAX: 2,
      DB_STATEMENT_TIMEOUT_MS: 30_000,
    })
    try {
      for (let i = 0; i < 1000; i += 500)
        await database.db.insert(jobs).values(Array.from({ length: 500 }, () => ({ type })))
      await waitFor('1,000 jobs', () => logs.reduce((n, l) => n + runLog(l).ends.size, 0) >= 1000)
      await waitFor('1,000 succeeded', async () => {
        const rows = await database.db.select({ s: jobs.status }).from(jobs).where(eq(jobs.type, type))
        return rows.every((r) => r.s === 'succeeded')
      })
    } finally {
      for (const w of workers) w.proc.kill('SIGTERM')
      await Promise.all(workers.map((w) => w.proc.exited))
      await database.close()
    }
    const [a, b] = logs.map(runLog) as [ReturnType<typeof runLog>, ReturnType<typeof runLog>]
    const runs = new Map<string, number>()
    for (const m of [a.starts, b.starts]) for (const [id, n] of m) runs.set(id, (runs.get(id) ?? 0) + n)
    expect(runs.size).toBe(1000)
    expect([...runs.values()].filter((n) => n !== 1)).toEqual([])
    expect(a.ends.size).toBeGreaterThan(0)
    expect(b.ends.size).toBeGreaterThan(0)
  })
})
