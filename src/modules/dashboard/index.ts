import { Elysia, t } from 'elysia'
import type { ModuleDeps } from '../../deps'
import { Event } from '../../events/model'
import { Int } from '../../lib/schema'
import { TaskModel } from '../tasks'
import { dashboard } from './service'

const count = Int({ minimum: 0 })

const DashboardModel = t.Object({
  projects_total: count,
  tasks_assigned_open: count,
  tasks_overdue: count,
  tasks_by_status: t.Object({ todo: count, in_progress: count, done: count, canceled: count }),
  due_soon: t.Array(TaskModel.task),
  recent_activity: t.Array(Event),
})

/** /users/me/dashboard: counts over my tasks and the newest events of my projects. */
export const dashboardRoutes = (deps: ModuleDeps) => {
  const db = deps.database.db
  return new Elysia({ name: 'dashboard' })
    .use(deps.auth)
    .get('/users/me/dashboard', ({ principal }) => dashboard(db, principal.user.id), {
      auth: true,
      response: DashboardModel,
      detail: {
        tags: ['Users'],
        summary: 'My dashboard',
        description:
          'Counts over tasks assigned to me in my live projects (overdue = open and due before today, UTC), the next 5 open tasks due from today on, and the 10 newest events of my projects.',
      },
    })
}
