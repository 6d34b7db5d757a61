/** Per-request facts shared by the HTTP plugins; keyed by the Request so nothing leaks between requests. */
export interface RequestMeta {
  id: string
  start: number
  userId?: string
  /** The matched route pattern, known once routing ran. */
  route?: string
  /** Status of an error response (the access log reads it). */
  status?: number
  /**
   * A refusal decided in onRequest (413, 415, NUL in the query), raised once every onRequest hook
   * (CORS) has run, so its response carries the same headers as any other.
   */
  refused?: Error
}

const metas = new WeakMap<Request, RequestMeta>()

const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/

export function startRequest(request: Request): RequestMeta {
  let meta = metas.get(request)
  if (meta) return meta
  const given = request.headers.get('x-request-id')
  meta = { id: given && SANE_REQUEST_ID.test(given) ? given : Bun.randomUUIDv7(), start: performance.now() }
  metas.set(request, meta)
  return meta
}

export const requestMeta = (request: Request): RequestMeta => startRequest(request)
