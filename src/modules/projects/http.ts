import { etagOf } from '../../lib/etag'
import { cleanLine } from '../../lib/text'

type Headers = Record<string, string | number | undefined | string[]>
interface SetLike {
  status?: number | string
  headers: Headers
}

/**
 * Route `transform` (runs before validation): trims and strips HTML tags from the single-line
 * fields, and from each string of the array fields, so `<b></b>` becomes "" and fails minLength.
 */
export const cleanFields =
  (fields: readonly string[], arrays: readonly string[] = []) =>
  ({ body }: { body: unknown }) => {
    if (!body || typeof body !== 'object' || Array.isArray(body)) return
    const b = body as Record<string, unknown>
    for (const f of fields) if (typeof b[f] === 'string') b[f] = cleanLine(b[f] as string)
    for (const f of arrays) {
      const v = b[f]
      if (Array.isArray(v)) b[f] = v.map((x) => (typeof x === 'string' ? cleanLine(x) : x))
    }
  }

/** ETag of a single resource response. */
export function withEtag<T extends { version: number }>(set: SetLike, resource: T): T {
  set.headers.etag = etagOf(resource.version)
  return resource
}

/** 201 + Location + ETag. */
export function created<T extends { id: string; version: number }>(
  set: SetLike,
  path: string,
  resource: T,
): T {
  set.status = 201
  set.headers.location = `/api/v1/${path}/${resource.id}`
  return withEtag(set, resource)
}

export function noContent(set: SetLike): undefined {
  set.status = 204
  return undefined
}
