import { and, count, eq, sql } from 'drizzle-orm'
import { type Db, isEmbedded } from '../../db/client'
import { prepared } from '../../db/prepared'
import { tasks } from '../../db/schema'
import { fieldError, validationFailed } from '../../lib/errors'
import { type Page, pageOf } from '../../lib/pagination'
import { projectAccess } from '../../shared/access'
import { statusTotal } from './counts'
import { afterCursor, type Cursor, cursorValues, decodeCursor, encodeCursor } from './cursor'
import { type TaskRow, taskFromJson, toPublicTask } from './mapper'
import type { TaskFilters } from './model'
import { parseTaskSort, sortKey, statusFilter, type TaskSort, taskFilters, taskOrder } from './query'

/**
 * A page of a project's tasks, by `page` (offset) or by `cursor` (keyset: flat cost however deep).
 * Without a filter, or with only a status filter, the total comes from the project's counters read
 * by the access check, so page 1 costs the same in a project of 50 tasks or of 100,000.
 */
export async function listTasks(
  db: Db,
  userId: string,
  projectId: string,
  q: TaskFilters & { sort?: string; cursor?: string; page?: string },
  page: Page,
) {
  const filters = taskFilters(q, userId)
  const sort = parseTaskSort(q.sort)
  let cursor: Cursor | undefined
  if (q.cursor !== undefined) {
    if (q.page !== undefined)
      throw validationFailed(
        [fieldError('cursor', 'pass page or cursor, not both')],
        'Query parameters are invalid',
      )
    cursor = decodeCursor(q.cursor, sort)
  }
  const { project } = await projectAccess(db, projectId, userId)
  const statuses = statusFilter(q)
  const known = filters.length <= (statuses ? 1 : 0) ? statusTotal(project, statuses) : undefined
  const at: Page = cursor ? { page: cursor.page, pageSize: page.pageSize, offset: 0 } : page
  // a due-date order has empty keys, which a cursor cannot name: those lists page by number only
  const walkable = sort.every((k) => k.field !== 'due_date')
  const where = and(eq(tasks.projectId, projectId), ...filters, cursor && afterCursor(sort, cursor.values))
  const [rows, total] = await Promise.all([
    // The common shape (no filter, one or two sort keys, by page) runs prepared; see src/db/prepared.ts
    !filters.length && !cursor && sort.length <= 2
      ? (isEmbedded(db) ? preparedJsonPage : preparedPage)(db, projectId, sort, at)
      : db
          .select()
          .from(tasks)
          .where(where)
          .orderBy(...taskOrder(sort))
          .limit(at.pageSize + 1)
          .offset(at.offset),
    known ??
      db
        .select({ n: count() })
        .from(tasks)
        .where(and(eq(tasks.projectId, projectId), ...filters))
        .then(([r]) => r?.n ?? 0),
  ])
  // one row more than the page tells whether another page follows
  const items = rows.slice(0, at.pageSize)
  const last = items.at(-1)
  const next =
    walkable && last && rows.length > at.pageSize
      ? encodeCursor(at.page + 1, sort, await cursorValues(db, sort, last))
      : null
  return { ...pageOf(items.map(toPublicTask), total, at), next_cursor: next }
}

export function preparedPage(db: Db, projectId: string, sort: TaskSort, page: Page): Promise<TaskRow[]> {
  // keyed by the parsed order: 132 possible shapes at most, whatever the spelling of `sort`
  return prepared(db, `task_page:${sortKey(sort)}`, (db) =>
    db
      .select()
      .from(tasks)
      .where(eq(tasks.projectId, sql.placeholder('project')))
      .orderBy(...taskOrder(sort))
      .limit(sql.placeholder('limit'))
      .offset(sql.placeholder('offset'))
      .prepare('task_page'),
  ).execute({ project: projectId, limit: page.pageSize + 1, offset: page.offset })
}

/**
 * The same page on the embedded database, each row as one JSON text (to_json of the row): PGlite
 * decodes one field per row instead of sixteen, where it spent most of a list, and JSON.parse is
 * native (+15 % req/s, bench/ab-cache.ts). PostgreSQL pays the JSON on its own CPU instead and
 * lost half its list throughput that way, so it keeps the columns.
 */
export function preparedJsonPage(db: Db, projectId: string, sort: TaskSort, page: Page): Promise<TaskRow[]> {
  return prepared(db, `task_json_page:${sortKey(sort)}`, (db) =>
    db
      .select({ row: sql<string>`to_json(${tasks})::text` })
      .from(tasks)
      .where(eq(tasks.projectId, sql.placeholder('project')))
      .orderBy(...taskOrder(sort))
      .limit(sql.placeholder('limit'))
      .offset(sql.placeholder('offset'))
      .prepare('task_json_page'),
  )
    .execute({ project: projectId, limit: page.pageSize + 1, offset: page.offset })
    .then((rows) => rows.map((r) => taskFromJson(JSON.parse(r.row))))
}
