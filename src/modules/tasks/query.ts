import { asc, desc, eq, gt, ilike, inArray, isNull, lt, notInArray, or, type SQL, sql } from 'drizzle-orm'
import { TASK_PRIORITIES, TASK_STATUSES, type TaskPriority, type TaskStatus, tasks } from '../../db/schema'
import { isUuid } from '../../lib/api'
import { fieldError, validationFailed } from '../../lib/errors'
import { parseSort, type SortKey } from '../../lib/pagination'
import { likePattern } from '../../lib/sql'
import { TASK_SORTS, type TaskFilters } from './model'

const CLOSED: TaskStatus[] = ['done', 'canceled']

const invalid = (field: string, message: string) =>
  validationFailed([fieldError(field, message)], 'Query parameters are invalid')

/** A real calendar date in YYYY-MM-DD (2026-02-30 is not). */
export function isRealDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s)
  if (!m) return false
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
  return d.toISOString().slice(0, 10) === s
}

/** Today's date in UTC: due dates are plain dates compared against the UTC calendar. */
export const todayUtc = () => new Date().toISOString().slice(0, 10)

function list<T extends string>(raw: string, allowed: readonly T[], field: string): T[] {
  // duplicates collapse: `todo,todo` is the same filter, and the same SQL shape (bounded statements)
  const items = [
    ...new Set(
      raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ]
  if (!items.length) throw invalid(field, `must be a comma list of ${allowed.join(', ')}`)
  for (const i of items)
    if (!allowed.includes(i as T))
      throw invalid(field, `unknown value "${i.slice(0, 30)}"; allowed: ${allowed.join(', ')}`)
  return items as T[]
}

/** The statuses of the `status` filter (a 422 when invalid), or undefined without one. */
export const statusFilter = (q: TaskFilters): TaskStatus[] | undefined =>
  q.status === undefined ? undefined : list(q.status, TASK_STATUSES, 'status')

/** WHERE conditions for the task filters of API.md; invalid values are a 422. */
export function taskFilters(q: TaskFilters, userId: string): SQL[] {
  const out: SQL[] = []
  const statuses = statusFilter(q)
  if (statuses) out.push(inArray(tasks.status, statuses))
  if (q.priority !== undefined)
    out.push(inArray(tasks.priority, list<TaskPriority>(q.priority, TASK_PRIORITIES, 'priority')))
  if (q.assignee_id !== undefined) {
    const a = q.assignee_id.trim()
    if (a === 'me') out.push(eq(tasks.assigneeId, userId))
    else if (a === 'none') out.push(isNull(tasks.assigneeId))
    else if (isUuid(a)) out.push(eq(tasks.assigneeId, a.toLowerCase()))
    else throw invalid('assignee_id', 'must be me, none or a user id')
  }
  if (q.label !== undefined) out.push(sql`${tasks.labels} @> array[${q.label}]::text[]`)
  for (const [field, op] of [
    ['due_before', lt],
    ['due_after', gt],
  ] as const) {
    const v = q[field]
    if (v === undefined) continue
    if (!isRealDate(v)) throw invalid(field, 'must be a real date YYYY-MM-DD')
    out.push(op(tasks.dueDate, v))
  }
  if (q.overdue === 'true') out.push(lt(tasks.dueDate, todayUtc()), notInArray(tasks.status, CLOSED))
  else if (q.overdue === 'false')
    out.push(
      or(isNull(tasks.dueDate), sql`${tasks.dueDate} >= ${todayUtc()}`, inArray(tasks.status, CLOSED))!,
    )
  if (q.search?.trim()) {
    const pattern = likePattern(q.search.trim())
    out.push(or(ilike(tasks.title, pattern), ilike(tasks.description, pattern))!)
  }
  return out
}

export const SORT_COLUMNS = {
  number: tasks.number,
  created_at: tasks.createdAt,
  updated_at: tasks.updatedAt,
  due_date: tasks.dueDate,
  priority: tasks.priorityRank,
  title: sql`lower(${tasks.title})`,
} as const

export type TaskSort = SortKey<(typeof TASK_SORTS)[number]>[]

/** `sort` parsed against the allow-list (a 422 otherwise); the default is `number` ascending. */
export function parseTaskSort(raw: string | undefined): TaskSort {
  const parsed = parseSort(raw, TASK_SORTS)
  return parsed.length ? parsed : [{ field: 'number', desc: false }]
}

/**
 * One spelling per order: `-number,title` whatever spaces the client put around it. Cache keys
 * use this, never the raw `sort` string (which has unboundedly many spellings of one order).
 */
export const sortKey = (keys: TaskSort): string => keys.map((k) => (k.desc ? '-' : '') + k.field).join(',')

/**
 * ORDER BY for the parsed sort (or a raw `sort` string, parsed here), always ending with the unique id so pages never overlap.
 * The id follows the direction of the last key, so (project_id, key, id) indexes serve both ways.
 */
export function taskOrder(sort: TaskSort | string | undefined): SQL[] {
  const keys = Array.isArray(sort) ? sort : parseTaskSort(sort)
  const order = keys.map((k) => {
    const col = SORT_COLUMNS[k.field]
    // Tasks without a due date sort last in both directions
    if (k.field === 'due_date') return k.desc ? sql`${col} desc nulls last` : sql`${col} asc nulls last`
    return k.desc ? desc(col) : asc(col)
  })
  return [...order, keys.at(-1)!.desc ? desc(tasks.id) : asc(tasks.id)]
}
