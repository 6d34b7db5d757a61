import type { Settings } from '../config'
import type { Database } from '../db/client'
import type { Logger } from '../lib/logger'
import type { Mailer } from '../lib/mailer'
import { purgeExpiredRows } from '../lib/purge'
import { mailJob } from '../modules/identity/mail-jobs'
import { purgeExpired } from '../modules/identity/sessions-service'
import { purgeTrash } from '../modules/projects/purge'
import { reportJob } from '../modules/reports/service'
import { purgeFinishedJobs } from './purge'
import type { JobDefinition } from './runner'

export const PURGE_JOB = 'purge'
export const PURGE_EVERY_MS = 3_600_000

/**
 * Housekeeping, once an hour across all instances: expired sessions, one-time tokens and
 * idempotency keys, projects past their 30 days in the trash (batched), finished jobs past their
 * retention.
 */
export const purgeJob = (database: Database): JobDefinition => ({
  type: PURGE_JOB,
  maxAttempts: 3,
  concurrency: 1,
  timeoutMs: 15 * 60_000,
  async handle() {
    const db = database.db
    const identity = await purgeExpired(db)
    const trash = await purgeTrash(db)
    const finishedJobs = await purgeFinishedJobs(db)
    const { idempotency_keys: idempotencyKeys } = await purgeExpiredRows(db)
    return {
      ...identity,
      idempotencyKeys,
      trashedProjects: trash.projects,
      trashedTasks: trash.tasks,
      finishedJobs,
    }
  },
})

export interface JobDeps {
  database: Database
  settings: Settings
  logger: Logger
  mailer: Mailer
}

/** Every job this process knows how to run (the job-side twin of createApp). */
export function jobDefinitions(deps: JobDeps): JobDefinition[] {
  const db = deps.database.db
  return [
    mailJob({ db, mailer: deps.mailer, settings: deps.settings, logger: deps.logger }),
    reportJob(db),
    purgeJob(deps.database),
  ]
}

export const JOB_SCHEDULES = [{ type: PURGE_JOB, everyMs: PURGE_EVERY_MS }]
