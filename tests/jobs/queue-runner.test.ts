import { beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import type { Database } from '../../src/db/client'
import { jobs } from '../../src/db/schema'
import { backoffMs, claim, enqueue, getJob, jobStats, retryJob } from '../../src/jobs/queue'
import { type JobDefinition, JobRunner } from '../../src/jobs/runner'
import { memoryLogger } from '../../src/lib/logger'
import { unique } from '../helpers/app'
import { testDatabase, usingPostgres } from '../helpers/db'

let database: Database
beforeAll(async () => {
  database = await testDatabase()
})

const logger = memoryLogger('error').logger
const runner = (
  definitions: JobDefinition[],
  o: {
    concurrency?: number
    pollIntervalMs?: number
    leaseMs?: number
    busy?: () => boolean
    soleWorker?: boolean
  } = {},
) =>
  new JobRunner({
    database,
    logger,
    definitions,
    concurrency: o.concurrency ?? 4,
    pollIntervalMs: o.pollIntervalMs ?? 60_000,
    leaseMs: o.leaseMs,
    busy: o.busy,
    soleWorker: o.soleWorker,
  })

async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  ms = 5_000,
): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(10)
  }
}
const finished = (id: string) =>
  until(`job ${id} to finish`, async () => {
    const j = await getJob(database.db, id)
    return j && (j.status === 'succeeded' || j.status === 'failed') ? j : null
  })

describe('enqueue', () => {
  test('in the transaction of the change: no job when it rolls back, one when it commits', async () => {
    const type = unique('tx')
    await database.db
      .transaction(async (tx) => {
        await enqueue(tx, { type })
        throw new Error('rollback')
      })
      .catch(() => {})
    expect(await database.db.select().from(jobs).where(eq(jobs.type, type))).toHaveLength(0)
    await database.db.transaction(async (tx) => {
      await enqueue(tx, { type })
    })
    expect(await database.db.select().from(jobs).where(eq(jobs.type, type))).toHaveLength(1)
  })

  test('a dedupe key makes a second enqueue a no-op', async () => {
    const type = unique('dedupe')
    const key = unique('key')
    expect(await enqueue(database.db, { type, dedupeKey: key })).not.toBeNull()
    expect(await enqueue(database.db, { type, dedupeKey: key })).toBeNull()
    expect(await database.db.select().from(jobs).where(eq(jobs.type, type))).toHaveLength(1)
  })

  test('backoff doubles per attempt, with jitter, up to the cap', () => {
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500)
    expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(1000)
    expect(backoffMs(4, 1000, 60_000, () => 1)).toBe(8000)
    expect(backoffMs(30, 1000, 60_000, () => 1)).toBe(60_000)
  })
})

describe('JobRunner', () => {
  test('wakes on the enqueue (no poll) and stores the result', async () => {
    const type = unique('wake')
    const r = runner([{ type, handle: async (p) => ({ doubled: (p.n as number) * 2 }) }])
    await r.start()
    try {
      const job = await enqueue(database.db, { type, payload: { n: 21 } })
      const done = await finished(job!.id)
      expect(done.status).toBe('succeeded')
      expect(done.result).toEqual({ doubled: 42 })
      expect(done.attempts).toBe(1)
      expect(done.finishedAt).toBeInstanceOf(Date)
    } finally {
      await r.stop()
    }
  })

  test('retries with backoff until it succeeds; gives up after maxAttempts and keeps the last error', async () => {
    const flaky = unique('flaky')
    const broken = unique('broken')
    let calls = 0
    const r = runner([
      {
        type: flaky,
        maxAttempts: 3,
        backoffBaseMs: 10,
        handle: async () => {
          if (++calls < 3) throw new Error(`boom ${calls}`)
          return 'ok'
        },
      },
      { type: broken, backoffBaseMs: 10, handle: async () => Promise.reject(new Error('always')) },
    ])
    await r.start()
    try {
      const a = await enqueue(database.db, { type: flaky, maxAttempts: 3 })
      const b = await enqueue(database.db, { type: broken, maxAttempts: 2 })
      const okJob = await finished(a!.id)
      expect(okJob).toMatchObject({ status: 'succeeded', attempts: 3, lastError: null, result: 'ok' })
      const failed = await finished(b!.id)
      expect(failed).toMatchObject({ status: 'failed', attempts: 2, lastError: 'always' })
    } finally {
      await r.stop()
    }
  })

  test('a job whose worker died is claimed again when its lease runs out', async () => {
    const type = unique('lease')
    const job = await enqueue(database.db, { type })
    const [taken] = await claim(database.db, type, 'dead-worker', 1, 1)
    expect(taken!.id).toBe(job!.id)
    await Bun.sleep(20)
    const r = runner([{ type, handle: async () => 'recovered' }])
    await r.start()
    try {
      const done = await finished(job!.id)
      expect(done).toMatchObject({ status: 'succeeded', attempts: 2, result: 'recovered' })
      expect(done.lockedBy).toBeNull()
    } finally {
      await r.stop()
    }
  })

  test('the sole worker of a database (embedded) takes back jobs left running at start, before their lease ends', async () => {
    const type = unique('orphan')
    const job = await enqueue(database.db, { type })
    await claim(database.db, type, 'killed-process', 1, 3_600_000)
    const shared = runner([{ type, handle: async () => 'too early' }])
    await shared.start()
    await Bun.sleep(100)
    await shared.stop()
    expect((await getJob(database.db, job!.id))?.status).toBe('running')
    const sole = runner([{ type, handle: async () => 'recovered' }], { soleWorker: true })
    await sole.start()
    try {
      expect(await finished(job!.id)).toMatchObject({ status: 'succeeded', attempts: 2, result: 'recovered' })
    } finally {
      await sole.stop()
    }
  })

  test('a group runs at most groupConcurrency at once; its backlog does not hold the other groups back', async () => {
    const type = unique('group')
    let open!: () => void
    const gate = new Promise<void>((r) => {
      open = r
    })
    let slowNow = 0
    let slowPeak = 0
    const handle = async (payload: Record<string, unknown>) => {
      if (payload.group !== 'slow') return 'fast'
      slowNow++
      slowPeak = Math.max(slowPeak, slowNow)
      await gate
      slowNow--
      return 'slow'
    }
    const slow = []
    for (let i = 0; i < 30; i++)
      slow.push(await enqueue(database.db, { type, groupKey: 'slow', payload: { group: 'slow' } }))
    const fast = []
    for (let i = 0; i < 6; i++)
      fast.push(await enqueue(database.db, { type, groupKey: `fast-${i % 2}`, payload: {} }))
    const ungrouped = await enqueue(database.db, { type, payload: {} })
    const r = runner([{ type, handle, groupConcurrency: 2, concurrency: 8 }])
    await r.start()
    try {
      for (const j of [...fast, ungrouped]) expect((await finished(j!.id)).result).toBe('fast')
      expect(slowPeak).toBe(2)
      const waiting = await database.db.select().from(jobs).where(eq(jobs.type, type))
      // the backlog was never claimed and given back: 2 attempts made in all, 28 still queued untouched
      expect(waiting.filter((j) => j.status === 'running').length).toBe(2)
      expect(waiting.filter((j) => j.status === 'queued' && j.attempts === 0).length).toBe(28)
      open()
      for (const j of slow) expect((await finished(j!.id)).attempts).toBe(1)
      expect(slowPeak).toBe(2)
    } finally {
      open()
      await r.stop()
    }
  })

  test('never runs more jobs of a type at once than its concurrency', async () => {
    const type = unique('conc')
    let now = 0
    let peak = 0
    const r = runner(
      [
        {
          type,
          concurrency: 2,
          handle: async () => {
            now++
            peak = Math.max(peak, now)
            await Bun.sleep(20)
            now--
          },
        },
      ],
      { concurrency: 8 },
    )
    const made = await Promise.all(Array.from({ length: 6 }, () => enqueue(database.db, { type })))
    await r.start()
    try {
      for (const j of made) expect((await finished(j!.id)).status).toBe('succeeded')
      expect(peak).toBe(2)
    } finally {
      await r.stop()
    }
  })

  test('while the API is busy the runner starts one job at a time; when it is not, up to its limits', async () => {
    const type = unique('yield')
    let busy = true
    let now = 0
    let peak = 0
    const r = runner(
      [
        {
          type,
          handle: async () => {
            now++
            peak = Math.max(peak, now)
            await Bun.sleep(30)
            now--
          },
        },
      ],
      { concurrency: 8, busy: () => busy },
    )
    await r.start()
    try {
      const first = await Promise.all(Array.from({ length: 4 }, () => enqueue(database.db, { type })))
      for (const j of first) expect((await finished(j!.id)).status).toBe('succeeded')
      // busy: jobs still progress (never starved), one at a time
      expect(peak).toBe(1)
      busy = false
      peak = 0
      // one commit, so all four are due when the runner wakes
      const second = await database.db.transaction(async (tx) => {
        const made = []
        for (let i = 0; i < 4; i++) made.push(await enqueue(tx, { type }))
        return made
      })
      for (const j of second) expect((await finished(j!.id)).status).toBe('succeeded')
      expect(peak).toBe(4)
    } finally {
      await r.stop()
    }
  })

  test('an attempt over its timeout fails and is retried', async () => {
    const type = unique('slow')
    let calls = 0
    const r = runner([
      {
        type,
        timeoutMs: 30,
        backoffBaseMs: 5,
        handle: async (_p, ctx) => {
          calls++
          if (calls === 1) await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))
          return calls
        },
      },
    ])
    await r.start()
    try {
      const job = await enqueue(database.db, { type, maxAttempts: 3 })
      const done = await finished(job!.id)
      expect(done).toMatchObject({ status: 'succeeded', attempts: 2, result: 2 })
    } finally {
      await r.stop()
    }
  })

  test('stop() lets a short job finish, and gives back one that outlives the timeout without counting it', async () => {
    const type = unique('stop')
    let started = false
    const r = runner([
      {
        type,
        handle: async (_p, ctx) => {
          started = true
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))
          throw new Error('aborted')
        },
      },
    ])
    await r.start()
    const job = await enqueue(database.db, { type })
    await until('the job to start', async () => started)
    await r.stop(50)
    const after = await getJob(database.db, job!.id)
    expect(after).toMatchObject({ status: 'queued', attempts: 0, lockedBy: null })
  })

  test('a long job keeps its lease alive with heartbeats, so no other worker takes it', async () => {
    const type = unique('beat')
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    const r = runner([{ type, handle: () => gate }], { leaseMs: 300 })
    await r.start()
    try {
      const job = await enqueue(database.db, { type })
      await until('the job to run', async () => r.running === 1)
      const first = (await getJob(database.db, job!.id))!.lockedUntil!.getTime()
      // over two lease lengths later it is still held, its lease pushed forward, and not claimable
      await Bun.sleep(700)
      const held = (await getJob(database.db, job!.id))!
      expect(held).toMatchObject({ status: 'running', attempts: 1, lockedBy: r.workerId })
      expect(held.lockedUntil!.getTime()).toBeGreaterThan(first)
      expect(await claim(database.db, type, 'thief', 1, 1_000)).toEqual([])
      release()
      expect((await finished(job!.id)).status).toBe('succeeded')
      expect(r.running).toBe(0)
    } finally {
      release()
      await r.stop()
    }
  })

  test('a job interrupted more often than its attempts allow fails for good, without running', async () => {
    const type = unique('crashy')
    let ran = false
    const [job] = await database.db
      .insert(jobs)
      .values({
        type,
        status: 'running',
        attempts: 2,
        maxAttempts: 2,
        lockedBy: 'dead',
        lockedUntil: new Date(0),
      })
      .returning()
    const r = runner([
      {
        type,
        handle: async () => {
          ran = true
        },
      },
    ])
    await r.start()
    try {
      const done = await finished(job!.id)
      expect(done).toMatchObject({ status: 'failed', attempts: 3 })
      expect(done.lastError).toContain('interrupted too often')
      expect(ran).toBe(false)
    } finally {
      await r.stop()
    }
  })

  test('a database failure is logged and the runner keeps polling; so is a failed periodic enqueue', async () => {
    const log = memoryLogger('error')
    const broken = {
      ...database,
      db: new Proxy(database.db, {
        get(target, prop, receiver) {
          if (prop === 'update' || prop === 'insert' || prop === 'select')
            return () => {
              throw new Error('db down')
            }
          return Reflect.get(target, prop, receiver)
        },
      }),
    } as Database
    const r = new JobRunner({
      database: broken,
      logger: log.logger,
      definitions: [{ type: unique('down'), handle: async () => {} }],
      concurrency: 1,
      pollIntervalMs: 20,
      schedules: [{ type: unique('down-periodic'), everyMs: 3_600_000 }],
    })
    await r.start()
    try {
      await until(
        'two failed polls',
        async () => log.entries().filter((e) => e.msg === 'job queue poll failed').length >= 2,
      )
      expect(log.entries().some((e) => e.msg === 'enqueueing a periodic job failed')).toBe(true)
    } finally {
      await r.stop()
    }
  })

  test('admin stats count by type and status; only a failed job can be retried', async () => {
    const type = unique('stats')
    const r = runner([{ type, backoffBaseMs: 5, handle: async () => Promise.reject(new Error('nope')) }])
    await r.start()
    const job = await enqueue(database.db, { type, maxAttempts: 1 })
    await finished(job!.id)
    await r.stop()
    const stats = await jobStats(database.db)
    expect(stats.types[type]).toEqual({ queued: 0, running: 0, succeeded: 0, failed: 1 })
    const again = await retryJob(database.db, job!.id)
    expect(again).toMatchObject({ status: 'queued', attempts: 0, lastError: null })
    await expect(retryJob(database.db, job!.id)).rejects.toMatchObject({ status: 409 })
    await expect(retryJob(database.db, Bun.randomUUIDv7())).rejects.toMatchObject({ status: 404 })
  })
})

const pgOnly = usingPostgres() ? describe : describe.skip
if (!usingPostgres()) console.warn('skipped: two-worker SKIP LOCKED test needs DATABASE_URL (PostgreSQL)')

pgOnly('several runners on one PostgreSQL', () => {
  test('three runners drain 300 jobs: each runs exactly once', async () => {
    const type = unique('many')
    const runs = new Map<string, number>()
    const def: JobDefinition = {
      type,
      handle: async (_p, ctx) => {
        runs.set(ctx.job.id, (runs.get(ctx.job.id) ?? 0) + 1)
      },
    }
    const runners = [0, 1, 2].map(() => runner([def], { concurrency: 8 }))
    await database.db.insert(jobs).values(Array.from({ length: 300 }, () => ({ type })))
    await Promise.all(runners.map((r) => r.start()))
    try {
      await until(
        '300 jobs',
        async () => {
          const rows = await database.db.select({ s: jobs.status }).from(jobs).where(eq(jobs.type, type))
          return rows.every((x) => x.s === 'succeeded')
        },
        20_000,
      )
      expect(runs.size).toBe(300)
      expect([...runs.values()].every((n) => n === 1)).toBe(true)
    } finally {
      await Promise.all(runners.map((r) => r.stop()))
    }
  })
})
