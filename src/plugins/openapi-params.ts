import { SORT_DESCRIPTION_PREFIX } from '../lib/pagination'
import { isObject, type Json } from './openapi-schemas'

export type Parameter = {
  name?: string
  in?: string
  schema?: unknown
  description?: string
  style?: string
  explode?: boolean
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
export function shapeParameters(params: Parameter[] | undefined): void {
  for (const p of params ?? []) {
    if (p.in !== 'query' || !isObject(p.schema)) continue
    const schema = p.schema
    const bounds = p.name ? PAGE_BOUNDS[p.name] : undefined
    if (bounds && schema.type === 'string') {
      const { pattern: _p, error: _e, type: _t, ...rest } = schema
      p.schema = { ...rest, type: 'integer', ...bounds }
      continue
    }
    const sortable =
      typeof schema.description === 'string' && schema.description.startsWith(SORT_DESCRIPTION_PREFIX)
    if (p.name === 'sort' && sortable) {
      const fields = (schema.description as string).slice(SORT_DESCRIPTION_PREFIX.length).split(', ')
      commaList(p, { type: 'string', enum: fields.flatMap((f) => [f, `-${f}`]) })
      if (isObject(p.schema)) p.schema.description = 'Comma list of fields; `-field` sorts descending'
      continue
    }
    const listed = typeof schema.description === 'string' && /^Comma list of (.+)$/.exec(schema.description)
    if (listed && schema.type === 'string')
      commaList(p, { type: 'string', enum: listed[1]!.split(',').map((v) => v.trim()) })
  }
}
