import type { Settings } from '../config'
import type { Database } from '../db/client'
import type { Logger } from '../lib/logger'
import type { Mailer } from '../lib/mailer'
import { purgeExpiredRows } from '../lib/purge'
import {
  type AttachmentStorage,
  attachmentJobs,
  createStorage,
  SWEEP_EVERY_MS,
  SWEEP_JOB,
} from '../modules/attachments'
import { mailJob, purgeExpired } from '../modules/identity'
import { purgeTrash } from '../modules/projects'
import { reportJob } from '../modules/reports'
import { type DeliveryOutcome, purgeDeliveries, webhookJob } from '../modules/webhooks'
import { purgeFinishedJobs } from './purge'
import type { JobDefinition } from './runner'

export const PURGE_JOB = 'purge'
export const PURGE_EVERY_MS = 3_600_000

/**
 * Housekeeping, once an hour across all instances: expired sessions, one-time tokens and
 * idempotency keys, projects past their 30 days in the trash (batched), finished jobs and webhook
 * deliveries past their retention.
 */
export const purgeJob = (database: Database, deliveryRetentionDays = 30): JobDefinition => ({
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
    const webhookDeliveries = await purgeDeliveries(db, deliveryRetentionDays)
    return {
      ...identity,
      idempotencyKeys,
      trashedProjects: trash.projects,
      trashedTasks: trash.tasks,
      finishedJobs,
      webhookDeliveries,
    }
  },
})

export interface JobDeps {
  database: Database
  settings: Settings
  logger: Logger
  mailer: Mailer
  /** Where attachments live (default: what the settings name). */
  storage?: AttachmentStorage
  /** Counts webhook delivery attempts by outcome (metrics). */
  onWebhookOutcome?: (outcome: DeliveryOutcome) => void
}

/** `mail=4, report=2` (JOBS_TYPE_CONCURRENCY, format checked by the settings schema) as a map. */
export function parseTypeConcurrency(spec: string): Map<string, number> {
  const limits = new Map<string, number>()
  for (const part of spec.split(',')) {
    const [type, n] = part.split('=').map((x) => x.trim())
    if (type && n) limits.set(type, Number(n))
  }
  return limits
}

/**
 * Every job this process knows how to run (the job-side twin of createApp), with the per-type
 * limits of JOBS_TYPE_CONCURRENCY over each job's own default.
 */
export function jobDefinitions(deps: JobDeps): JobDefinition[] {
  const db = deps.database.db
  const all = [
    mailJob({ db, mailer: deps.mailer, settings: deps.settings, logger: deps.logger }),
    reportJob(db),
    webhookJob({ db, settings: deps.settings, logger: deps.logger, onOutcome: deps.onWebhookOutcome }),
    purgeJob(deps.database, deps.settings.WEBHOOK_DELIVERY_RETENTION_DAYS),
    ...attachmentJobs({ db, storage: deps.storage ?? createStorage(deps.settings), logger: deps.logger }),
  ]
  const limits = parseTypeConcurrency(deps.settings.JOBS_TYPE_CONCURRENCY)
  const unknown = [...limits.keys()].filter((t) => !all.some((d) => d.type === t))
  if (unknown.length)
    deps.logger.warn('JOBS_TYPE_CONCURRENCY names job types this version does not have', { types: unknown })
  return all.map((d) => (limits.has(d.type) ? { ...d, concurrency: limits.get(d.type) } : d))
}

export const JOB_SCHEDULES = [
  { type: PURGE_JOB, everyMs: PURGE_EVERY_MS },
  { type: SWEEP_JOB, everyMs: SWEEP_EVERY_MS },
]
