import { Elysia } from 'elysia'
import type { ModuleDeps } from '../../deps'
import { JobModel } from '../../jobs/model'
import { getMyJob, queueStats, retryFailedJob } from './service'

const tags = ['Jobs']

/** The requester's view of a job, and the admins' view of the queue (API.md, Background jobs). */
export const jobRoutes = ({ auth, database }: ModuleDeps) => {
  const db = database.db
  return new Elysia({ name: 'jobs' })
    .use(auth)
    .get('/jobs/:id', ({ principal, params }) => getMyJob(db, principal.user.id, params.id), {
      auth: true,
      params: JobModel.params,
      response: JobModel.job,
      detail: { tags, summary: 'A job I requested', description: 'Anyone else’s job is a 404.' },
    })
    .get('/admin/jobs', () => queueStats(db), {
      auth: true,
      role: 'admin',
      response: JobModel.stats,
      detail: {
        tags,
        summary: 'The job queue',
        description: 'Admin. Counts by type and status; the age of the oldest waiting job.',
      },
    })
    .post('/admin/jobs/:id/retry', ({ params }) => retryFailedJob(db, params.id), {
      auth: true,
      role: 'admin',
      params: JobModel.params,
      response: JobModel.job,
      detail: {
        tags,
        summary: 'Retry a failed job',
        description: 'Admin. Only a failed job (409 otherwise); its attempts start over.',
      },
    })
}
