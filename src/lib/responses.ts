import { API_PREFIX } from './api'
import { etagOf } from './etag'

type Headers = Record<string, string | number | undefined | string[]>
interface SetLike {
  status?: number | string
  headers: Headers
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
  set.headers.location = `${API_PREFIX}/${path}/${resource.id}`
  return withEtag(set, resource)
}

export function noContent(set: SetLike): undefined {
  set.status = 204
  return undefined
}
