import { API_PREFIX } from '../lib/api'
import { EVENT_TYPES } from '../modules/activity/service'
import { USER_SORT } from '../modules/identity/users-service'
import { PROJECT_SORTS } from '../modules/projects/model'
import { TASK_SORTS } from '../modules/tasks/model'
import { isObject, type Json } from './openapi-schemas'

export type Parameter = {
  name?: string
  in?: string
  schema?: unknown
  description?: string
  style?: string
  explode?: boolean
}

/** The sort fields each list accepts (the same lists the services parse `sort` against). */
export const SORT_FIELDS: Record<string, readonly string[]> = {
  [`${API_PREFIX}/users`]: USER_SORT,
  [`${API_PREFIX}/projects`]: PROJECT_SORTS,
  [`${API_PREFIX}/projects/{id}/tasks`]: TASK_SORTS,
  [`${API_PREFIX}/users/me/tasks`]: TASK_SORTS,
}

/**
 * `page` and `page_size` are validated as decimal-digit strings (so `1e2` and `0x10` are refused),
 * but what a client sends is an integer: document them as one.
 */
const PAGE_BOUNDS: Record<string, { minimum: number; maximum: number; default: number }> = {
  page: { minimum: 1, maximum: 9_999_999, default: 1 },
  page_size: { minimum: 1, maximum: 100, default: 20 },
}

/** A comma-separated list in one query parameter (`status=todo,done`), of the given items. */
function commaList(p: Parameter, items: Json) {
  const description = isObject(p.schema) ? (p.schema.description as string | undefined) : undefined
  p.schema = { type: 'array', items, ...(description ? { description } : {}) }
  p.style = 'form'
  p.explode = false
}

/**
 * Query parameters as clients should type them: integer page/page_size, `sort` as a comma list of
 * its allowed fields (each optionally prefixed with `-` for descending), and the comma-list filters
 * (`Comma list of a, b, c` in their description) as arrays of those values.
 */
export function shapeParameters(path: string, params: Parameter[] | undefined): void {
  for (const p of params ?? []) {
    if (p.in !== 'query' || !isObject(p.schema)) continue
    const schema = p.schema
    const bounds = p.name ? PAGE_BOUNDS[p.name] : undefined
    if (bounds && schema.type === 'string') {
      const { pattern: _p, error: _e, type: _t, ...rest } = schema
      p.schema = { ...rest, type: 'integer', ...bounds }
      continue
    }
    const fields = SORT_FIELDS[path]
    if (p.name === 'sort' && fields) {
      commaList(p, { type: 'string', enum: fields.flatMap((f) => [f, `-${f}`]) })
      if (isObject(p.schema)) p.schema.description = 'Comma list of fields; `-field` sorts descending'
      continue
    }
    const listed = typeof schema.description === 'string' && /^Comma list of (.+)$/.exec(schema.description)
    if (listed && schema.type === 'string')
      commaList(p, { type: 'string', enum: listed[1]!.split(',').map((v) => v.trim()) })
  }
}

/** The event types the activity feed and `Event.type` can carry. */
export function typeEvents(doc: Json): void {
  const event = ((doc.components as Json | undefined)?.schemas as Json | undefined)?.Event
  const type = isObject(event) && isObject(event.properties) ? event.properties.type : undefined
  if (isObject(type) && type.type === 'string' && !type.enum) type.enum = [...EVENT_TYPES]
}
