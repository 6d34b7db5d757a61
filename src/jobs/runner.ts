import { hostname } from 'node:os'
import type { Database, Db } from '../db/client'
import type { Logger } from '../lib/logger'
import {
  backoffMs,
  claim,
  completeMany,
  enqueue,
  extendLease,
  fail,
  JOBS_CHANNEL,
  type JobRow,
  nextRunAt,
  release,
  requeueExpired,
} from './queue'

export interface JobContext {
  job: JobRow
  db: Db
  logger: Logger
  /** Aborted when the job overruns its timeout or the runner stops. */
  signal: AbortSignal
}

/** The longest delay a timer takes (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2_147_483_647

/** One kind of job: how to run it and how hard to try. */
export interface JobDefinition {
  type: string
  handle(payload: Record<string, unknown>, ctx: JobContext): Promise<unknown>
  /** Attempts before the job is failed for good (default 5). */
  maxAttempts?: number
  /** Jobs of this type running at once in this process (default: the runner's concurrency). */
  concurrency?: number
  /** An attempt running longer than this fails (and is retried). Default 60 s. */
  timeoutMs?: number
  /** First retry delay; doubles per attempt, with jitter. Default 1 s. */
  backoffBaseMs?: number
  /** The wait before the retry that follows failed attempt `attempt` (1-based), instead of the backoff. */
  retryDelayMs?: (attempt: number) => number
  /**
   * Waits on the network, not the CPU (webhook deliveries): its `concurrency` slots are its own,
   * outside the runner's total, and it does not yield to a busy API.
   */
  ioBound?: boolean
  /**
   * Jobs with the same group key (a webhook endpoint) running at once in this process: the claim
   * skips groups at this cap, so a slow group holds only its own slots.
   */
  groupConcurrency?: number
}

export interface RunnerOptions {
  database: Database
  logger: Logger
  definitions: JobDefinition[]
  /** Jobs running at once in this process, all types together. */
  concurrency: number
  /** The safety-net poll when no wake-up arrives (retries due, a missed NOTIFY). */
  pollIntervalMs?: number
  /** How long a claim holds a job without a heartbeat; a dead process's jobs return after it. */
  leaseMs?: number
  workerId?: string
  /**
   * True while the API of this process is busy (serve: JOBS_YIELD_AT_REQUESTS requests in flight):
   * then the runner starts a job only while none runs, so background work yields the CPU and the
   * database to requests and still makes progress.
   */
  busy?: () => boolean
  /**
   * Jobs every instance enqueues periodically; a dedupe key per period means one job per period
   * however many instances there are.
   */
  schedules?: { type: string; everyMs: number }[]
  /**
   * No other process works on this database (the embedded data dir is locked to this one), so jobs
   * found running at start were left by a process that died: they are queued again at once
   * instead of after their lease.
   */
  soleWorker?: boolean
}

const DEFAULT_TIMEOUT_MS = 60_000
/** For best-effort writes whose failure the lease or the next poll repairs. */
const ignore = () => {}

/** Thrown by a handler when trying again cannot help (the project is gone): failed at once. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError'
}

/**
 * Runs jobs from the queue in this process: wakes on NOTIFY (PostgreSQL: from any instance;
 * embedded: in-process), on a slow poll, and whenever a slot frees up. Claims respect the total and
 * the per-type concurrency. Running jobs keep their lease alive with a heartbeat.
 */
export class JobRunner {
  readonly workerId: string
  private readonly defs = new Map<string, JobDefinition>()
  private readonly runningByType = new Map<string, number>()
  /** Running jobs per group key, of the types with a groupConcurrency (group keys are endpoint ids). */
  private readonly runningByGroup = new Map<string, number>()
  private readonly inFlight = new Map<string, { promise: Promise<void>; abort: AbortController }>()
  /** In-flight jobs of ioBound types (not counted against the total). */
  private ioInFlight = 0
  private readonly pollMs: number
  private readonly leaseMs: number
  private timer: ReturnType<typeof setTimeout> | undefined
  private ticking = false
  /** When to look for jobs whose lease ran out next (on the poll, not on every wake-up). */
  private nextRequeueAt = 0
  /** Types to claim for on this pass: a wake-up names the types that may have work or a free slot. */
  private readonly wanted = new Set<string>()
  private stopped = true
  private unlisten: (() => Promise<void>) | undefined
  private readonly scheduleTimers: ReturnType<typeof setInterval>[] = []
  /** Completions of this event-loop turn, written by one statement. */
  private completions: { id: string; result: unknown; written: (ok: boolean) => void }[] = []

  /** The types whose jobs share the runner's total concurrency (not ioBound). */
  private readonly sharedTypes: string[]

  constructor(private readonly opts: RunnerOptions) {
    for (const d of opts.definitions) this.defs.set(d.type, d)
    this.sharedTypes = opts.definitions.filter((d) => !d.ioBound).map((d) => d.type)
    this.pollMs = opts.pollIntervalMs ?? 5_000
    this.leaseMs = opts.leaseMs ?? 30_000
    this.workerId = opts.workerId ?? `${hostname()}:${process.pid}:${Bun.randomUUIDv7().slice(-8)}`
  }

  get running(): number {
    return this.inFlight.size
  }

  async start(): Promise<void> {
    if (!this.stopped) return
    this.stopped = false
    if (this.opts.soleWorker) {
      const requeued = await requeueExpired(this.opts.database.db, { leftRunning: true })
      if (requeued)
        this.opts.logger.warn('jobs left running by a stopped process were queued again', { requeued })
    }
    // the NOTIFY's payload is the enqueued job's type
    this.unlisten = await this.opts.database.listen(JOBS_CHANNEL, (type) =>
      this.wake(this.defs.has(type) ? [type] : undefined),
    )
    for (const { type, everyMs } of this.opts.schedules ?? []) {
      const enqueuePeriodic = () =>
        void enqueue(this.opts.database.db, {
          type,
          dedupeKey: `${type}:${Math.floor(Date.now() / everyMs)}`,
        }).catch((err) =>
          this.opts.logger.error('enqueueing a periodic job failed', { job_type: type, err: String(err) }),
        )
      enqueuePeriodic()
      // a longer period would overflow the timer, which then fires every millisecond
      const timer = setInterval(enqueuePeriodic, Math.min(everyMs, MAX_TIMER_MS))
      timer.unref?.()
      this.scheduleTimers.push(timer)
    }
    this.wake()
  }

  /**
   * Looks for work now: of `types` (a NOTIFY named one, a job of one finished), else of every type
   * (the poll, a test). A busy queue thus costs one claim per finished job, not one per type.
   */
  wake(types: Iterable<string> = this.defs.keys()): void {
    if (this.stopped) return
    for (const t of types) this.wanted.add(t)
    void this.tick()
  }

  private async tick(): Promise<void> {
    if (this.ticking) return // the running pass takes the types just wanted
    this.ticking = true
    try {
      if (Date.now() >= this.nextRequeueAt) {
        this.nextRequeueAt = Date.now() + Math.min(this.pollMs, this.leaseMs)
        const requeued = await requeueExpired(this.opts.database.db)
        if (requeued) this.opts.logger.warn('jobs whose lease ran out were queued again', { requeued })
      }
      while (this.wanted.size && !this.stopped) {
        const types = [...this.wanted]
        this.wanted.clear()
        for (const def of types.map((t) => this.defs.get(t)!)) {
          // sampled per claim: a job's completion wakes the loop, so the cap follows the load
          const total = def.ioBound ? Infinity : this.opts.busy?.() ? 1 : this.opts.concurrency
          const free = Math.min(
            (def.concurrency ?? this.opts.concurrency) - (this.runningByType.get(def.type) ?? 0),
            total - (this.inFlight.size - this.ioInFlight),
          )
          if (free <= 0 || this.stopped) continue
          const groups = def.groupConcurrency
            ? { cap: def.groupConcurrency, running: this.runningByGroup }
            : undefined
          const claimed = await claim(
            this.opts.database.db,
            def.type,
            this.workerId,
            free,
            this.leaseMs,
            groups,
          )
          for (const job of claimed) this.run(def, job)
          if (claimed.length === free) this.wanted.add(def.type)
        }
      }
      await this.schedule()
    } catch (err) {
      this.opts.logger.error('job queue poll failed', { err: String((err as Error)?.message ?? err) })
      this.schedule(this.pollMs)
    } finally {
      this.ticking = false
    }
  }

  /** Sleeps until the next queued job is due, or the poll interval, whichever comes first. */
  private async schedule(delay?: number) {
    if (this.stopped) return
    let ms = delay ?? this.pollMs
    // while jobs run, their completions wake the loop: look up the next due time only when idle
    if (delay === undefined && this.inFlight.size === 0) {
      const next = await nextRunAt(this.opts.database.db, [...this.defs.keys()])
      if (next) ms = Math.max(0, Math.min(ms, next.getTime() - Date.now() + 5))
    }
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.wake(), ms)
    this.timer.unref?.()
  }

  private run(def: JobDefinition, job: JobRow) {
    const db = this.opts.database.db
    const abort = new AbortController()
    this.runningByType.set(def.type, (this.runningByType.get(def.type) ?? 0) + 1)
    const group = def.groupConcurrency ? job.groupKey : null
    if (group) this.runningByGroup.set(group, (this.runningByGroup.get(group) ?? 0) + 1)
    if (def.ioBound) this.ioInFlight++
    const heartbeat = setInterval(
      () => void extendLease(db, job.id, this.workerId, this.leaseMs).catch(ignore),
      Math.max(50, this.leaseMs / 3),
    )
    heartbeat.unref?.()
    const promise = (async () => {
      const started = performance.now()
      try {
        if (job.attempts > job.maxAttempts)
          throw new Error('the job was interrupted too often (lease expired)')
        const timeoutMs = def.timeoutMs ?? DEFAULT_TIMEOUT_MS
        const result = await withTimeout(
          def.handle(job.payload, { job, db, logger: this.opts.logger, signal: abort.signal }),
          timeoutMs,
          abort,
        )
        await this.complete(job.id, result)
        this.opts.logger.debug('job succeeded', {
          job_id: job.id,
          job_type: job.type,
          duration_ms: Math.round(performance.now() - started),
        })
      } catch (err) {
        // cut short by stop(): the job goes back to the queue, this attempt does not count
        if (this.stopped && abort.signal.aborted) {
          await release(db, [job.id], this.workerId).catch(ignore)
          return
        }
        const message = String((err as Error)?.message ?? err)
        if (err instanceof PermanentJobError) job.attempts = job.maxAttempts
        const final = job.attempts >= job.maxAttempts
        ;(final ? this.opts.logger.error : this.opts.logger.warn).call(
          this.opts.logger,
          'job attempt failed',
          {
            job_id: job.id,
            job_type: job.type,
            attempt: job.attempts,
            final,
            err: message,
          },
        )
        const retryIn = def.retryDelayMs?.(job.attempts) ?? backoffMs(job.attempts, def.backoffBaseMs)
        await fail(db, job, this.workerId, message, retryIn).catch((e) =>
          this.opts.logger.error('recording a job failure failed', { job_id: job.id, err: String(e) }),
        )
      } finally {
        clearInterval(heartbeat)
        this.inFlight.delete(job.id)
        if (def.ioBound) this.ioInFlight--
        this.runningByType.set(def.type, (this.runningByType.get(def.type) ?? 1) - 1)
        if (group) {
          const left = (this.runningByGroup.get(group) ?? 1) - 1
          if (left > 0) this.runningByGroup.set(group, left)
          else this.runningByGroup.delete(group)
        }
        // its slot is free: for its own type (ioBound), or for every type sharing the total
        this.wake(def.ioBound ? [def.type] : this.sharedTypes)
      }
    })()
    this.inFlight.set(job.id, { promise, abort })
  }

  /** Queues a completion for the batch of this turn; resolves once it is written. */
  private complete(id: string, result: unknown): Promise<boolean> {
    return new Promise<boolean>((written) => {
      if (this.completions.push({ id, result, written }) > 1) return
      setImmediate(async () => {
        const batch = this.completions
        this.completions = []
        try {
          const marked = new Set(await completeMany(this.opts.database.db, this.workerId, batch))
          for (const c of batch) c.written(marked.has(c.id))
        } catch (err) {
          this.opts.logger.error('recording job completions failed', { err: String(err) })
          for (const c of batch) c.written(false)
        }
      })
    })
  }

  /**
   * Stops claiming, lets running jobs finish for up to `timeoutMs`, then gives the rest back to the
   * queue (another instance, or the next start, takes them) and stops listening.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearTimeout(this.timer)
    for (const t of this.scheduleTimers.splice(0)) clearInterval(t)
    const all = Promise.all([...this.inFlight.values()].map((r) => r.promise))
    const done = await Promise.race([
      all.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), timeoutMs).unref?.()),
    ])
    if (!done) {
      const ids = [...this.inFlight.keys()]
      const n = await release(this.opts.database.db, ids, this.workerId).catch(() => 0)
      for (const r of this.inFlight.values()) r.abort.abort()
      this.opts.logger.warn('jobs still running at shutdown were released', { released: n })
      // a released job's late completion is refused (it no longer holds the lease); let the aborted
      // handlers settle briefly so none writes after the database closes
      await Promise.race([all, Bun.sleep(1_000)])
    }
    await this.unlisten?.()
    this.unlisten = undefined
  }
}

function withTimeout<T>(work: Promise<T>, ms: number, abort: AbortController): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort()
      reject(new Error(`timed out after ${ms} ms`))
    }, ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}
