import { Elysia, t } from 'elysia'
import type { ModuleDeps } from '../../deps'
import { toPage } from '../../lib/pagination'
import { created, noContent, withEtag } from '../../lib/responses'
import type { CleanSpec } from '../../lib/text'
import { cleanPlugin } from '../../plugins/clean'
import { exportFormat, exportTasks } from './export'
import { listTasks } from './list'
import { TaskModel } from './model'
import { createTask, deleteTask, getTask, listMyTasks, updateTask } from './service'

const tags = ['Tasks']
const cleanTask: CleanSpec = { fields: { title: 500 }, arrays: { labels: { maxLength: 50, maxItems: 20 } } }
const FILTERS =
  'Filters: `status` and `priority` (comma lists), `assignee_id` (`me`, `none` or an id), `label`, `due_before`/`due_after` (exclusive dates), `overdue=true` (due before today UTC and not done/canceled), `search` (title and description, case-insensitive substring).'

/** Tasks of a project, single tasks, and the streamed export. */
export const taskRoutes = (deps: ModuleDeps) => {
  const db = deps.database.db
  return new Elysia({ name: 'tasks' })
    .use(deps.auth)
    .use(cleanPlugin)
    .post(
      '/projects/:id/tasks',
      async ({ principal, params, body, set }) =>
        created(set, 'tasks', await createTask(db, principal.user.id, params.id, body)),
      {
        auth: true,
        clean: cleanTask,
        params: TaskModel.params,
        body: TaskModel.create,
        response: { 201: TaskModel.task },
        detail: {
          tags,
          summary: 'Create a task',
          description: 'Editor or owner. `number` is the next in the project.',
        },
      },
    )
    .get(
      '/projects/:id/tasks',
      ({ principal, params, query }) => listTasks(db, principal.user.id, params.id, query, toPage(query)),
      {
        auth: true,
        params: TaskModel.params,
        query: TaskModel.listQuery,
        response: TaskModel.projectTaskList,
        detail: {
          tags,
          summary: 'List tasks of a project',
          description: `${FILTERS} Sort: \`number\` (default), \`created_at\`, \`updated_at\`, \`due_date\` (undated last), \`priority\`, \`title\`.`,
        },
      },
    )
    .get(
      '/projects/:id/tasks/export',
      ({ principal, params, query, headers }) =>
        exportTasks(
          db,
          deps.logger,
          principal.user.id,
          params.id,
          query,
          exportFormat(query.format, headers.accept),
        ),
      {
        auth: true,
        params: TaskModel.params,
        query: TaskModel.exportQuery,
        response: { 200: t.String({ description: 'CSV (with a header row) or NDJSON, one task per line' }) },
        detail: {
          tags,
          summary: 'Export tasks (CSV or NDJSON)',
          description: `Every matching task in number order, streamed. \`text/csv\` by default (cells starting with = + - @ get a leading '), NDJSON with \`format=ndjson\` or \`Accept: application/x-ndjson\`. ${FILTERS}`,
        },
      },
    )
    .get(
      '/tasks/:id',
      async ({ principal, params, set }) => withEtag(set, await getTask(db, principal.user.id, params.id)),
      {
        auth: true,
        params: TaskModel.params,
        response: TaskModel.task,
        detail: { tags, summary: 'Get a task' },
      },
    )
    .patch(
      '/tasks/:id',
      async ({ principal, params, body, headers, set }) =>
        withEtag(set, await updateTask(db, principal.user.id, params.id, body, headers['if-match'])),
      {
        auth: true,
        clean: cleanTask,
        params: TaskModel.params,
        body: TaskModel.update,
        response: TaskModel.task,
        detail: {
          tags,
          summary: 'Update a task',
          description:
            'Editor or owner. Any field but id, project_id, number and created_by. `If-Match` is honoured.',
        },
      },
    )
    .delete(
      '/tasks/:id',
      async ({ principal, params, headers, set }) => {
        await deleteTask(db, principal.user.id, params.id, headers['if-match'])
        return noContent(set)
      },
      {
        auth: true,
        params: TaskModel.params,
        response: { 204: t.Void() },
        detail: { tags, summary: 'Delete a task', description: 'Editor or owner. Its comments go with it.' },
      },
    )
    .get(
      '/users/me/tasks',
      ({ principal, query }) => listMyTasks(db, principal.user.id, query, toPage(query)),
      {
        auth: true,
        query: TaskModel.myListQuery,
        response: TaskModel.taskList,
        detail: {
          tags,
          summary: 'Tasks assigned to me',
          description:
            'Across all my live projects, with the filters and sorts of the task list (`assignee_id` is ignored).',
        },
      },
    )
}

// what other features use: the public task shape and the queries the dashboard shares
export { toPublicTask } from './mapper'
export { TaskModel } from './model'
export { todayUtc } from './query'
export { myProjectIds } from './service'
