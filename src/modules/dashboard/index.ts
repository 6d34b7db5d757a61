import { Elysia, t } from 'elysia'
import type { ModuleDeps } from '../../deps'
import { toPage } from '../../lib/pagination'
import { Int } from '../../lib/schema'
import { event } from '../projects/model'
import { TaskModel } from '../tasks/model'
import { listMyTasks } from '../tasks/service'
import { dashboard } from './service'

const count = Int({ minimum: 0 })

const DashboardModel = t.Object({
  projects_total: count,
  tasks_assigned_open: count,
  tasks_overdue: count,
  tasks_by_status: t.Object({ todo: count, in_progress: count, done: count, canceled: count }),
  due_soon: t.Array(TaskModel.task),
  recent_activity: t.Array(event),
})

/** /users/me/dashboard and /users/me/tasks (they read projects and tasks, so they live here). */
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
    .get(
      '/users/me/tasks',
      ({ principal, query }) => listMyTasks(db, principal.user.id, query, toPage(query)),
      {
        auth: true,
        query: TaskModel.listQuery,
        response: TaskModel.taskList,
        detail: {
          tags: ['Tasks'],
          summary: 'Tasks assigned to me',
          description:
            'Across all my live projects, with the filters and sorts of the task list (`assignee_id` is ignored).',
        },
      },
    )
}
