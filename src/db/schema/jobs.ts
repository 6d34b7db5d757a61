import { sql } from 'drizzle-orm'
import { check, index, integer, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { id, oneOf, tstz } from './columns'
import { users } from './identity'

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const
export type JobStatus = (typeof JOB_STATUSES)[number]

/**
 * The durable job queue. A worker claims a queued job with FOR UPDATE SKIP LOCKED and holds it
 * for a lease (`locked_until`); a job whose process died is claimed again once the lease ran out.
 */
export const jobs = pgTable(
  'jobs',
  {
    id: id(),
    type: text().notNull(),
    payload: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    status: text().$type<JobStatus>().notNull().default('queued'),
    attempts: integer().notNull().default(0),
    maxAttempts: integer().notNull().default(5),
    /** When a queued job may run next (retries are scheduled here with backoff). */
    runAt: tstz().notNull().defaultNow(),
    lockedUntil: tstz(),
    lockedBy: text(),
    lastError: text(),
    result: jsonb().$type<unknown>(),
    /** Who asked for it (reports): GET /jobs/{id} answers them only. */
    requestedBy: uuid().references(() => users.id, { onDelete: 'cascade' }),
    /** At most one live job per key (periodic jobs enqueued by every instance). */
    dedupeKey: text(),
    /**
     * Jobs of one group (a webhook endpoint) run at most `groupConcurrency` at once per process;
     * the claim skips groups at their cap, so one busy group never fills the slots of the others.
     */
    groupKey: text(),
    createdAt: tstz().notNull().defaultNow(),
    startedAt: tstz(),
    finishedAt: tstz(),
  },
  (t) => [
    index('jobs_queued_idx').on(t.type, t.runAt).where(sql`${t.status} = 'queued'`),
    index('jobs_running_idx').on(t.lockedUntil).where(sql`${t.status} = 'running'`),
    index('jobs_finished_idx').on(t.finishedAt).where(sql`${t.finishedAt} is not null`),
    index('jobs_requested_by_idx').on(t.requestedBy),
    uniqueIndex('jobs_dedupe_key').on(t.dedupeKey),
    check('jobs_status_check', oneOf(t.status, JOB_STATUSES)),
  ],
)
