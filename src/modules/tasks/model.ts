import { t } from 'elysia'
import { TASK_PRIORITIES, TASK_STATUSES } from '../../db/schema'
import { pageQuery, pageSchema, sortQuery } from '../../lib/pagination'
import { Int, literals } from '../../lib/schema'

const closed = { additionalProperties: false } as const
const Uuid = t.String({ format: 'uuid' })
const Time = t.String({ format: 'date-time' })
const DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$'
const DateStr = t.String({ pattern: DATE_PATTERN, error: 'must be a date YYYY-MM-DD' })
const status = literals(TASK_STATUSES)
const priority = literals(TASK_PRIORITIES)
const title = t.String({
  minLength: 1,
  maxLength: 500,
  error: 'must be 1-500 characters (HTML tags are removed)',
})
const description = t.String({ maxLength: 50_000 })
const labels = t.Array(
  t.String({ minLength: 1, maxLength: 50, error: 'each label must be 1-50 characters' }),
  {
    maxItems: 20,
    error: 'at most 20 labels of 1-50 characters',
  },
)

export const TASK_SORTS = ['number', 'created_at', 'updated_at', 'due_date', 'priority', 'title'] as const

export const task = t.Object({
  id: Uuid,
  project_id: Uuid,
  number: Int(),
  title: t.String(),
  description: t.String(),
  status,
  priority,
  assignee_id: t.Union([Uuid, t.Null()]),
  labels: t.Array(t.String()),
  due_date: t.Union([t.String(), t.Null()]),
  completed_at: t.Union([Time, t.Null()]),
  created_by: t.Union([Uuid, t.Null()]),
  created_at: Time,
  updated_at: Time,
  version: Int(),
})

/** Filters shared by the task list, the export and /users/me/tasks. */
export const filterQuery = {
  status: t.Optional(
    t.String({ maxLength: 100, description: 'Comma list of todo, in_progress, done, canceled' }),
  ),
  priority: t.Optional(t.String({ maxLength: 100, description: 'Comma list of low, medium, high, urgent' })),
  assignee_id: t.Optional(t.String({ maxLength: 36, description: '`me`, `none` or a user id' })),
  label: t.Optional(t.String({ minLength: 1, maxLength: 50 })),
  due_before: t.Optional(t.String({ ...DateStr, description: 'due_date < this date' })),
  due_after: t.Optional(t.String({ ...DateStr, description: 'due_date > this date' })),
  overdue: t.Optional(t.Union([t.Literal('true'), t.Literal('false')])),
  search: t.Optional(t.String({ maxLength: 200, description: 'Substring of title or description' })),
}

export const TaskModel = {
  task,
  taskList: pageSchema(task),
  projectTaskList: t.Object({
    ...pageSchema(task).properties,
    next_cursor: t.Union([t.String(), t.Null()], {
      description:
        'Pass as `cursor` for the page after this one (keyset: the same cost at any depth); null on the last page and for a sort by due_date',
    }),
  }),
  params: t.Object({ id: Uuid }),
  create: t.Object(
    {
      title,
      description: t.Optional(description),
      status: t.Optional(status),
      priority: t.Optional(priority),
      assignee_id: t.Optional(t.Union([Uuid, t.Null()])),
      labels: t.Optional(labels),
      due_date: t.Optional(t.Union([DateStr, t.Null()])),
    },
    closed,
  ),
  update: t.Object(
    {
      title: t.Optional(title),
      description: t.Optional(description),
      status: t.Optional(status),
      priority: t.Optional(priority),
      assignee_id: t.Optional(t.Union([Uuid, t.Null()])),
      labels: t.Optional(labels),
      due_date: t.Optional(t.Union([DateStr, t.Null()])),
    },
    closed,
  ),
  myListQuery: t.Object({ ...pageQuery, ...sortQuery(TASK_SORTS), ...filterQuery }),
  listQuery: t.Object({
    ...pageQuery,
    ...sortQuery(TASK_SORTS),
    ...filterQuery,
    cursor: t.Optional(
      t.String({
        maxLength: 2048,
        pattern: '^[A-Za-z0-9_-]+$',
        description: '`next_cursor` of the previous page, instead of `page` (keep the same sort and filters)',
      }),
    ),
  }),
  exportQuery: t.Object({
    ...filterQuery,
    format: t.Optional(t.Union([t.Literal('csv'), t.Literal('ndjson')])),
  }),
}

export type TaskCreate = typeof TaskModel.create.static
export type TaskUpdate = typeof TaskModel.update.static
export type TaskFilters = { [K in keyof typeof filterQuery]?: string }
