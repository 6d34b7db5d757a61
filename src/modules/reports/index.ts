import { Elysia } from 'elysia'
import type { ModuleDeps } from '../../deps'
import { JobModel } from '../../jobs/model'
import { API_PREFIX } from '../../lib/api'
import { UuidParams } from '../../lib/schema'
import { requestReport } from './service'

/** POST /projects/{id}/reports: queues a report job; the client polls GET /jobs/{id}. */
export const reportRoutes = ({ auth, database }: ModuleDeps) => {
  const db = database.db
  return new Elysia({ name: 'reports' }).use(auth).post(
    '/projects/:id/reports',
    async ({ principal, params, set }) => {
      const accepted = await requestReport(db, principal.user.id, params.id)
      set.status = 202
      set.headers.location = `${API_PREFIX}/jobs/${accepted.job_id}`
      return accepted
    },
    {
      auth: true,
      params: UuidParams,
      response: { 202: JobModel.accepted },
      detail: {
        tags: ['Jobs'],
        summary: 'Request a project report',
        description:
          'Any member. Queues a job that summarises the project (counts by status, priority and assignee, overdue tasks, tasks completed per week for 12 weeks); poll the Location. While one of yours is queued or running for this project, you get that one.',
      },
    },
  )
}

export { reportJob } from './service'
