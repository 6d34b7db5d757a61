import { Elysia } from 'elysia'
import type { ModuleDeps } from '../../deps'
import { JobModel, toPublicJob } from '../../jobs/model'
import { getJob, jobStats, retryJob } from '../../jobs/queue'
import { isUuid } from '../../lib/api'
import { notFound } from '../../lib/errors'

const tags = ['Jobs']

/** The requester's view of a job, and the admins' view of the queue (API.md, Background jobs). */
export const jobRoutes = ({ auth, database }: ModuleDeps) => {
  const db = database.db
  return new Elysia({ name: 'jobs' })
    .use(auth)
    .get(
      '/jobs/:id',
      async ({ principal, params }) => {
        const job = isUuid(params.id) ? await getJob(db, params.id) : null
        if (!job || job.requestedBy !== principal.user.id) throw notFound('Job')
        return toPublicJob(job)
      },
      {
        auth: true,
        params: JobModel.params,
        response: JobModel.job,
        detail: { tags, summary: 'A job I requested', description: 'Anyone else’s job is a 404.' },
      },
    )
    .get('/admin/jobs', () => jobStats(db), {
      auth: true,
      role: 'admin',
      response: JobModel.stats,
      detail: {
        tags,
        summary: 'The job queue',
        description: 'Admin. Counts by type and status; the age of the oldest waiting job.',
      },
    })
    .post(
      '/admin/jobs/:id/retry',
      async ({ params }) => {
        if (!isUuid(params.id)) throw notFound('Job')
        return toPublicJob(await retryJob(db, params.id))
      },
      {
        auth: true,
        role: 'admin',
        params: JobModel.params,
        response: JobModel.job,
        detail: {
          tags,
          summary: 'Retry a failed job',
          description: 'Admin. Only a failed job (409 otherwise); its attempts start over.',
        },
      },
    )
}
