import { t } from 'elysia'
import { fieldError, validationFailed } from './errors'
import { Int } from './schema'

/**
 * Query schema pieces every list shares: page >= 1, page_size 1..100, whole decimal numbers only
 * (`0x10`, `1e2`, `1.5` are refused). Out of range is a 422 that names the parameter.
 */
export const pageQuery = {
  page: t.Optional(
    t.String({
      pattern: '^[1-9][0-9]{0,6}$',
      error: 'must be a whole number from 1',
      description: 'Page, from 1 (default 1)',
    }),
  ),
  page_size: t.Optional(
    t.String({
      pattern: '^(100|[1-9][0-9]?)$',
      error: 'must be a whole number from 1 to 100',
      description: 'Items per page, 1..100 (default 20)',
    }),
  ),
  sort: t.Optional(t.String({ maxLength: 200 })),
}

/** Only `page` and `page_size`: lists with one fixed order. */
export const PageOnlyQuery = t.Object({ page: pageQuery.page, page_size: pageQuery.page_size })

export const SORT_DESCRIPTION_PREFIX = 'Sort by: '
/**
 * `sort` of a list sortable by `fields`: a comma list, `-field` descending. The OpenAPI document
 * turns the description into an array of the allowed values (see plugins/openapi-params).
 */
export const sortQuery = (fields: readonly string[]) => ({
  sort: t.Optional(
    t.String({
      maxLength: 200,
      description: `${SORT_DESCRIPTION_PREFIX}${fields.join(', ')}`,
    }),
  ),
})

export interface Page {
  page: number
  pageSize: number
  offset: number
}

export function toPage(q: { page?: string | number; page_size?: string | number }): Page {
  const page = Number(q.page ?? 1)
  const pageSize = Number(q.page_size ?? 20)
  return { page, pageSize, offset: (page - 1) * pageSize }
}

export const pageOf = <T>(items: T[], total: number, p: Page) => ({
  items,
  total,
  page: p.page,
  page_size: p.pageSize,
  pages: Math.ceil(total / p.pageSize),
})

/** Response schema of a paginated list of `item`. */
export const pageSchema = <S extends Parameters<typeof t.Array>[0]>(item: S) =>
  t.Object({
    items: t.Array(item),
    total: Int(),
    page: Int(),
    page_size: Int(),
    pages: Int(),
  })

export interface SortKey<F extends string> {
  field: F
  desc: boolean
}

/**
 * Parses `sort=-due_date,title` against an allow-list. Unknown or repeated fields are a 422:
 * the value never reaches SQL, callers map each allowed field to a column themselves.
 */
export function parseSort<F extends string>(raw: string | undefined, allowed: readonly F[]): SortKey<F>[] {
  if (raw === undefined || raw.trim() === '') return []
  const keys: SortKey<F>[] = []
  for (const part of raw.split(',')) {
    const item = part.trim()
    const desc = item.startsWith('-')
    const field = (desc ? item.slice(1) : item) as F
    if (!allowed.includes(field))
      throw validationFailed(
        [fieldError('sort', `unknown sort field "${item.slice(0, 50)}"; allowed: ${allowed.join(', ')}`)],
        'Query parameters are invalid',
      )
    if (keys.some((k) => k.field === field))
      throw validationFailed([fieldError('sort', `"${field}" is repeated`)], 'Query parameters are invalid')
    keys.push({ field, desc })
  }
  return keys
}
