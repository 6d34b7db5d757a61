import { t } from 'elysia'
import { JOB_STATUSES } from '../db/schema'
import { Int, literals } from '../lib/schema'
import type { JobRow } from './queue'

const Time = t.String({ format: 'date-time' })
const JobStatus = literals(JOB_STATUSES)

export const JobModel = {
  params: t.Object({ id: t.String({ format: 'uuid' }) }),
  job: t.Object({
    id: t.String({ format: 'uuid' }),
    type: t.String(),
    status: JobStatus,
    result: t.Unknown({ description: 'What the job produced (a report), once succeeded; else null' }),
    error: t.Union([t.String(), t.Null()], { description: 'The last attempt’s error' }),
    attempts: Int(),
    created_at: Time,
    started_at: t.Union([Time, t.Null()]),
    finished_at: t.Union([Time, t.Null()]),
  }),
  accepted: t.Object({ job_id: t.String({ format: 'uuid' }), status: JobStatus }),
  stats: t.Object({
    types: t.Record(t.String(), t.Object({ queued: Int(), running: Int(), succeeded: Int(), failed: Int() })),
    oldest_queued_age_seconds: t.Union([t.Number(), t.Null()], {
      description: 'How long the oldest due, unclaimed job has waited; null when none waits',
    }),
  }),
}

export function toPublicJob(j: JobRow) {
  return {
    id: j.id,
    type: j.type,
    status: j.status,
    result: j.result ?? null,
    error: j.lastError,
    attempts: j.attempts,
    created_at: j.createdAt.toISOString(),
    started_at: j.startedAt?.toISOString() ?? null,
    finished_at: j.finishedAt?.toISOString() ?? null,
  }
}
