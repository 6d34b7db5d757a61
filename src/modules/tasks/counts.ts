import { type SQL, sql } from 'drizzle-orm'
import { projects, type TaskStatus } from '../../db/schema'
import type { ProjectRow } from '../../shared/access'

/**
 * Per-status task counters on the project row. The statements that create, re-status and delete
 * a task move them under the project's row lock, so list totals (no filter, or a status filter)
 * are read with the project instead of counting rows: O(1) whatever the project's size.
 */
const COLUMN = {
  todo: { key: 'todoCount', name: 'todo_count' },
  in_progress: { key: 'inProgressCount', name: 'in_progress_count' },
  done: { key: 'doneCount', name: 'done_count' },
  canceled: { key: 'canceledCount', name: 'canceled_count' },
} as const satisfies Record<TaskStatus, { key: keyof ProjectRow; name: string }>

const COLUMNS = Object.entries(COLUMN).map(([status, c]) => ({ status, name: sql.raw(c.name) }))

/** For the batched create: one `count(*)` per status over the rows, named like its counter. */
export const STATUS_TALLIES: SQL = sql.join(
  COLUMNS.map((c) => sql`count(*) filter (where status = ${sql.raw(`'${c.status}'`)}) as ${c.name}`),
  sql`, `,
)

/** `<status>_count = p.<status>_count + n.<status>_count` for every status (`n`: STATUS_TALLIES). */
export const ADD_STATUS_TALLIES: SQL = sql.join(
  COLUMNS.map((c) => sql`${c.name} = p.${c.name} + n.${c.name}`),
  sql`, `,
)

/** The `set` of a project update that moves one task from `from` to `to` (null: created / deleted). */
export function statusMove(from: TaskStatus | null, to: TaskStatus | null) {
  const set: Partial<Record<keyof typeof projects.$inferInsert, SQL>> = {}
  if (from) set[COLUMN[from].key] = sql`${projects[COLUMN[from].key]} - 1`
  if (to) set[COLUMN[to].key] = sql`${projects[COLUMN[to].key]} + 1`
  if (!to) set.taskCount = sql`${projects.taskCount} - 1`
  return set
}

/** Tasks of the project with one of `statuses` (distinct, as statusFilter gives them; all when undefined). */
export function statusTotal(p: ProjectRow, statuses?: readonly TaskStatus[]): number {
  if (!statuses) return p.taskCount
  return statuses.reduce((sum, s) => sum + p[COLUMN[s].key], 0)
}
