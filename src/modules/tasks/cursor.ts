import { and, eq, or, type SQL, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { tasks } from '../../db/schema'
import { isUuid } from '../../lib/api'
import { fieldError, validationFailed } from '../../lib/errors'
import type { TaskRow } from './mapper'
import { SORT_COLUMNS, sortKey, type TaskSort } from './query'

/**
 * Keyset paging of a project's tasks. `next_cursor` names the last task of a page by its sort
 * values (as PostgreSQL prints them, so timestamps keep their microseconds) and its id; the next
 * page is the rows after it in the list's order, found through the (project_id, key, id) index
 * however deep the walk, and unaffected by rows added or removed before it. The cursor also
 * carries the page number it leads to, so the envelope stays the same.
 */
const CAST = {
  number: 'int',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
  priority: 'int',
  title: 'text',
} as const
type CursorField = keyof typeof CAST
const CURSOR_FIELDS = Object.keys(CAST) as CursorField[]
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:\d{2})?|Z)$/
const MAX_PAGE = 10_000_000

export interface Cursor {
  /** The page number of the page the cursor leads to. */
  page: number
  /** The sort values of the last task of the previous page, then its id. */
  values: (string | number)[]
}

const invalid = (message: string) =>
  validationFailed([fieldError('cursor', message)], 'Query parameters are invalid')

/** 422 unless every key of the order can be walked by a cursor (due dates can be empty). */
export function cursorFields(sort: TaskSort): CursorField[] {
  for (const k of sort)
    if (!CURSOR_FIELDS.includes(k.field as CursorField))
      throw invalid(`cursor paging does not support sort by ${k.field}; use page`)
  return sort.map((k) => k.field as CursorField)
}

/** Each key's value from the row as fetched (timestamps to the millisecond, JavaScript's lowercase). */
const FROM_ROW: Record<CursorField, (t: TaskRow) => string | number> = {
  number: (t) => t.number,
  priority: (t) => t.priorityRank,
  title: (t) => t.title.toLowerCase(),
  created_at: (t) => t.createdAt.toISOString(),
  updated_at: (t) => t.updatedAt.toISOString(),
}
/** Keys whose value in the row is exactly what PostgreSQL compares (integers). */
const EXACT_IN_ROW = new Set<CursorField>(['number', 'priority'])

/**
 * The sort values of `last` (the last task of a page) for its next cursor. Integers come from the
 * row; timestamps (microseconds, which a JavaScript Date drops) and lower(title) (PostgreSQL's
 * own case folding) are read back as PostgreSQL prints them, one primary-key lookup, made only
 * when another page follows. Computing them in the page query would cost every row an offset skips.
 */
export async function cursorValues(db: Db, sort: TaskSort, last: TaskRow): Promise<(string | number)[]> {
  const fields = cursorFields(sort)
  const fromRow = () => [...fields.map((f) => FROM_ROW[f](last)), last.id]
  if (fields.every((f) => EXACT_IN_ROW.has(f))) return fromRow()
  const key = sql`json_build_array(${sql.join(
    fields.map((f) => sql`${SORT_COLUMNS[f]}`),
    sql`, `,
  )}, ${tasks.id})`
  const [row] = await db
    .select({ key: sql<(string | number)[]>`${key}` })
    .from(tasks)
    .where(eq(tasks.id, last.id))
  // deleted in between: the row's own values (milliseconds) still resume at the right place
  return row?.key ?? fromRow()
}

export function encodeCursor(page: number, sort: TaskSort, values: (string | number)[]): string {
  return Buffer.from(JSON.stringify({ p: page, s: sortKey(sort), v: values })).toString('base64url')
}

export function decodeCursor(raw: string, sort: TaskSort): Cursor {
  const fields = cursorFields(sort)
  let c: { p?: unknown; s?: unknown; v?: unknown }
  try {
    c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'))
  } catch {
    throw invalid('is not a cursor this API made')
  }
  if (!c || typeof c !== 'object' || !Array.isArray(c.v) || c.v.length !== fields.length + 1)
    throw invalid('is not a cursor this API made')
  if (c.s !== sortKey(sort)) throw invalid('was made for another sort; pass the same sort as before')
  if (!Number.isInteger(c.p) || (c.p as number) < 2 || (c.p as number) > MAX_PAGE)
    throw invalid('is not a cursor this API made')
  const values = c.v as unknown[]
  const ok = fields.every((f, i) => {
    const v = values[i]
    if (CAST[f] === 'int') return Number.isSafeInteger(v)
    if (CAST[f] === 'text') return typeof v === 'string' && v.length <= 1_000
    return typeof v === 'string' && TIMESTAMP.test(v) && !Number.isNaN(Date.parse(v))
  })
  const id = values[fields.length]
  if (!ok || typeof id !== 'string' || !isUuid(id)) throw invalid('is not a cursor this API made')
  return { page: c.p as number, values: values as (string | number)[] }
}

/**
 * The rows after the cursor in the order `sort` (the id follows the last key's direction). One
 * direction throughout is a row comparison, which the (project_id, key, id) index serves as a range.
 */
export function afterCursor(sort: TaskSort, values: (string | number)[]): SQL {
  const fields = cursorFields(sort)
  const cols: SQL[] = [...fields.map((f) => sql`${SORT_COLUMNS[f]}`), sql`${tasks.id}`]
  const vals: SQL[] = [
    ...fields.map((f, i) => sql`${values[i]}::${sql.raw(CAST[f])}`),
    sql`${values[fields.length]}::uuid`,
  ]
  const dirs = [...sort.map((k) => k.desc), sort.at(-1)!.desc]
  if (dirs.every((d) => d === dirs[0]))
    return sql`(${sql.join(cols, sql`, `)}) ${sql.raw(dirs[0] ? '<' : '>')} (${sql.join(vals, sql`, `)})`
  // mixed directions: k1 beyond, or k1 equal and k2 beyond, ...
  return or(
    ...cols.map((col, i) =>
      and(
        ...cols.slice(0, i).map((c, j) => eq(c, vals[j]!)),
        sql`${col} ${sql.raw(dirs[i] ? '<' : '>')} ${vals[i]}`,
      ),
    ),
  )!
}
