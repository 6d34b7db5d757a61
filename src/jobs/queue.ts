import { and, count, eq, inArray, min, type SQL, sql } from 'drizzle-orm'
import { type Db, rowsOf } from '../db/client'
import { type JobStatus, jobs } from '../db/schema'
import { conflict, notFound } from '../lib/errors'

/** NOTIFY channel that wakes workers when a job is enqueued (delivered at commit). */
export const JOBS_CHANNEL = 'taskbase_jobs'

export type JobRow = typeof jobs.$inferSelect

export interface NewJob {
  type: string
  payload?: Record<string, unknown>
  maxAttempts?: number
  /** Not before this time (default now). */
  runAt?: Date
  requestedBy?: string
  /** At most one job per key: a second enqueue with the same key is a no-op (returns null). */
  dedupeKey?: string
  /** Its group (a webhook endpoint), for the type's groupConcurrency. */
  groupKey?: string
}

/**
 * Enqueues a job on `db`, which may be the transaction of the change that causes it: then the
 * job exists exactly when the change commits, and the wake-up NOTIFY is delivered at that commit.
 */
export async function enqueue(db: Db, job: NewJob): Promise<JobRow | null> {
  const values = {
    type: job.type,
    payload: job.payload ?? {},
    maxAttempts: job.maxAttempts ?? 5,
    runAt: job.runAt ?? new Date(),
    requestedBy: job.requestedBy ?? null,
    dedupeKey: job.dedupeKey ?? null,
    groupKey: job.groupKey ?? null,
  }
  const rows = job.dedupeKey
    ? await db.insert(jobs).values(values).onConflictDoNothing({ target: jobs.dedupeKey }).returning()
    : await db.insert(jobs).values(values).returning()
  if (rows[0]) await db.execute(sql`select pg_notify(${JOBS_CHANNEL}, ${job.type})`)
  return rows[0] ?? null
}

/** Per-group caps of a claim: at most `cap` jobs of one group key run at once in this process. */
export interface GroupCaps {
  cap: number
  /** Jobs of each group running in this process now. */
  running: Map<string, number>
}

/** Rows looked at per claimed slot when groups are capped (the rest wait for the next claim). */
const GROUP_WINDOW_PER_SLOT = 8

/**
 * Claims up to `limit` due queued jobs of `type` for `worker`. SKIP LOCKED lets many workers on
 * many instances claim at once without ever taking the same job. Only queued jobs: the statement
 * stays an index range scan however long the queue (jobs whose worker died are put back by
 * requeueExpired, on the runner's poll).
 *
 * With `groups`, groups at their cap are skipped and at most cap − running jobs of any other
 * group are taken, oldest first, so a group with a long backlog (an endpoint that is down) holds
 * only its own slots and never delays the other groups' jobs behind it.
 */
export async function claim(
  db: Db,
  type: string,
  worker: string,
  limit: number,
  leaseMs: number,
  groups?: GroupCaps,
) {
  if (limit <= 0) return []
  const due = sql`${jobs.type} = ${type} and ${jobs.status} = 'queued' and ${jobs.runAt} <= now()`
  let pick: SQL
  if (!groups) pick = sql`select ${jobs.id} from ${jobs} where ${due} order by ${jobs.runAt} limit ${limit}`
  else {
    const running = JSON.stringify(Object.fromEntries(groups.running))
    const inUse = (key: SQL) => sql`coalesce((${running}::jsonb ->> ${key})::int, 0)`
    pick = sql`select r.id from (
        select c.id, c.run_at, c.group_key,
          row_number() over (partition by c.group_key order by c.run_at, c.id) as rn
        from (
          select ${jobs.id}, ${jobs.runAt}, ${jobs.groupKey} from ${jobs}
          where ${due} and (${jobs.groupKey} is null or ${inUse(sql`${jobs.groupKey}`)} < ${groups.cap})
          order by ${jobs.runAt} limit ${limit * GROUP_WINDOW_PER_SLOT}
        ) as c
      ) as r
      where r.group_key is null or r.rn <= ${groups.cap} - ${inUse(sql`r.group_key`)}
      order by r.run_at limit ${limit}`
  }
  return db
    .update(jobs)
    .set({
      status: 'running',
      attempts: sql`${jobs.attempts} + 1`,
      lockedBy: worker,
      lockedUntil: sql`now() + ${`${Math.ceil(leaseMs)} milliseconds`}::interval`,
      startedAt: sql`coalesce(${jobs.startedAt}, now())`,
    })
    .where(
      inArray(
        jobs.id,
        groups
          ? sql`(select ${jobs.id} from ${jobs} where ${jobs.id} in (${pick}) and ${jobs.status} = 'queued'
            for update skip locked)`
          : sql`(${pick} for update skip locked)`,
      ),
    )
    .returning()
}

/**
 * Puts running jobs whose lease ran out (their process died or stalled past its heartbeats) back
 * in the queue, due at once; the attempt they were on stays counted. `leftRunning`: every running
 * job, whatever its lease (the caller is the database's only worker, starting). Returns how many.
 */
export async function requeueExpired(db: Db, opts: { leftRunning?: boolean } = {}): Promise<number> {
  const expired = opts.leftRunning ? sql`` : sql`and ${jobs.lockedUntil} < now()`
  let total = 0
  for (;;) {
    const rows = await db
      .update(jobs)
      .set({ status: 'queued', lockedBy: null, lockedUntil: null, runAt: sql`now()` })
      .where(
        inArray(
          jobs.id,
          sql`(select ${jobs.id} from ${jobs} where ${jobs.status} = 'running' ${expired}
          limit 1000 for update skip locked)`,
        ),
      )
      .returning({ id: jobs.id })
    total += rows.length
    if (rows.length < 1000) return total
  }
}

/**
 * Marks several jobs this worker holds as succeeded in one statement (a busy runner batches the
 * completions of one event-loop turn). Returns the ids it marked.
 */
export async function completeMany(db: Db, worker: string, done: { id: string; result: unknown }[]) {
  if (!done.length) return []
  const values = sql.join(
    done.map((d) => sql`(${d.id}::uuid, ${JSON.stringify(d.result ?? null)}::jsonb)`),
    sql`, `,
  )
  const rows = await db.execute(sql`
    update ${jobs} set status = 'succeeded', result = v.result, locked_by = null, locked_until = null,
      last_error = null, finished_at = now()
    from (values ${values}) as v(id, result)
    where ${jobs.id} = v.id and ${jobs.lockedBy} = ${worker} and ${jobs.status} = 'running'
    returning ${jobs.id}`)
  return rowsOf<{ id: string }>(rows).map((r) => r.id)
}

/**
 * Exponential backoff with full jitter: attempt 1 waits up to `baseMs`, then doubling, capped.
 * Jitter spreads retries of jobs that failed together (an SMTP outage) so they don't stampede.
 */
export function backoffMs(attempt: number, baseMs = 1_000, capMs = 3_600_000, random = Math.random) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

/**
 * Records a failed attempt: queued again after a backoff while attempts remain, else failed for
 * good (it stays visible with its last error). False when the lease was lost meanwhile.
 */
export async function fail(db: Db, job: JobRow, worker: string, error: string, retryInMs: number) {
  const final = job.attempts >= job.maxAttempts
  const rows = await db
    .update(jobs)
    .set({
      status: final ? 'failed' : 'queued',
      lastError: error.slice(0, 2_000),
      lockedBy: null,
      lockedUntil: null,
      runAt: final ? job.runAt : new Date(Date.now() + retryInMs),
      finishedAt: final ? sql`now()` : null,
    })
    .where(and(eq(jobs.id, job.id), eq(jobs.lockedBy, worker), eq(jobs.status, 'running')))
    .returning({ id: jobs.id })
  return rows.length > 0
}

/** Gives jobs back unfinished (shutdown): queued again, due at once, the attempt not counted. */
export async function release(db: Db, ids: string[], worker: string) {
  if (!ids.length) return 0
  const rows = await db
    .update(jobs)
    .set({
      status: 'queued',
      attempts: sql`greatest(${jobs.attempts} - 1, 0)`,
      lockedBy: null,
      lockedUntil: null,
      runAt: sql`now()`,
    })
    .where(and(inArray(jobs.id, ids), eq(jobs.lockedBy, worker), eq(jobs.status, 'running')))
    .returning({ id: jobs.id })
  return rows.length
}

/** Extends the lease of a job still running here (long jobs call it through their context). */
export async function extendLease(db: Db, id: string, worker: string, leaseMs: number) {
  const rows = await db
    .update(jobs)
    .set({ lockedUntil: sql`now() + ${`${Math.ceil(leaseMs)} milliseconds`}::interval` })
    .where(and(eq(jobs.id, id), eq(jobs.lockedBy, worker), eq(jobs.status, 'running')))
    .returning({ id: jobs.id })
  return rows.length > 0
}

/**
 * When the next queued job of these types becomes due (null: none queued): one index probe per
 * type, however long the queue.
 */
export async function nextRunAt(db: Db, types: string[]): Promise<Date | null> {
  if (!types.length) return null
  const firstOf = types.map(
    (t) =>
      sql`(select ${jobs.runAt} as at from ${jobs} where ${jobs.type} = ${t} and ${jobs.status} = 'queued' order by ${jobs.runAt} limit 1)`,
  )
  const [row] = rowsOf<{ at: string | Date | null }>(
    await db.execute(sql`select min(at) as at from (${sql.join(firstOf, sql` union all `)}) as next`),
  )
  return row?.at ? new Date(row.at) : null
}

export async function getJob(db: Db, id: string) {
  const [row] = await db.select().from(jobs).where(eq(jobs.id, id)).limit(1)
  return row ?? null
}

/** `GET /admin/jobs`: counts by type and status, and how long the oldest due job has waited. */
export async function jobStats(db: Db) {
  const [byStatus, [oldest]] = await Promise.all([
    db
      .select({ type: jobs.type, status: jobs.status, n: count() })
      .from(jobs)
      .groupBy(jobs.type, jobs.status)
      .orderBy(jobs.type, jobs.status),
    db
      .select({ at: min(jobs.runAt) })
      .from(jobs)
      .where(and(eq(jobs.status, 'queued'), sql`${jobs.runAt} <= now()`)),
  ])
  const types: Record<string, Record<JobStatus, number>> = {}
  for (const r of byStatus) {
    types[r.type] ??= { queued: 0, running: 0, succeeded: 0, failed: 0 }
    types[r.type]![r.status] = r.n
  }
  const at = oldest?.at ? new Date(oldest.at).getTime() : null
  return { types, oldest_queued_age_seconds: at === null ? null : Math.max(0, (Date.now() - at) / 1000) }
}

/** `POST /admin/jobs/{id}/retry`: a failed job is queued again with a fresh set of attempts. */
export async function retryJob(db: Db, id: string) {
  const existing = await getJob(db, id)
  if (!existing) throw notFound('Job')
  const [row] = await db
    .update(jobs)
    .set({ status: 'queued', attempts: 0, runAt: sql`now()`, finishedAt: null, lastError: null })
    .where(and(eq(jobs.id, id), eq(jobs.status, 'failed')))
    .returning()
  if (!row) throw conflict(`Only a failed job can be retried; this one is ${existing.status}`)
  await db.execute(sql`select pg_notify(${JOBS_CHANNEL}, ${row.type})`)
  return row
}
