import type { Db } from '../../db/client'
import { toPublicJob } from '../../jobs/model'
import { getJob, jobStats, retryJob } from '../../jobs/queue'
import { isUuid } from '../../lib/api'
import { notFound } from '../../lib/errors'

/** `GET /jobs/{id}`: only the user who requested the job sees it; anyone else gets a 404. */
export async function getMyJob(db: Db, userId: string, id: string) {
  const job = isUuid(id) ? await getJob(db, id) : null
  if (!job || job.requestedBy !== userId) throw notFound('Job')
  return toPublicJob(job)
}

/** `GET /admin/jobs`. */
export const queueStats = (db: Db) => jobStats(db)

/** `POST /admin/jobs/{id}/retry`: a failed job is queued again with its attempts reset (else 409). */
export async function retryFailedJob(db: Db, id: string) {
  if (!isUuid(id)) throw notFound('Job')
  return toPublicJob(await retryJob(db, id))
}
