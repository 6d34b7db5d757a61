type Operation = { security?: unknown[]; responses?: Record<string, unknown> }
type Doc = { paths?: Record<string, Record<string, Operation>> }

const ref = (name: string) => ({ $ref: `#/components/responses/${name}` })

/** Adds the contract's problem+json error responses to every operation of the generated document. */
export function addErrorResponses<T>(doc: T): T {
  const paths = (doc as Doc).paths ?? {}
  for (const [path, item] of Object.entries(paths)) {
    const hasParam = path.includes('{')
    for (const [method, op] of Object.entries(item)) {
      if (!op || typeof op !== 'object') continue
      const r: Record<string, unknown> = { ...op.responses }
      const add = (status: number, name: string) => {
        if (!(String(status) in r)) r[String(status)] = ref(name)
      }
      const writes = ['post', 'put', 'patch', 'delete'].includes(method)
      if (op.security?.length) {
        add(401, 'Unauthorized')
        add(403, 'Forbidden')
      }
      if (hasParam) add(404, 'NotFound')
      if (writes) {
        add(400, 'BadRequest')
        add(413, 'PayloadTooLarge')
        add(415, 'UnsupportedMediaType')
      }
      if (writes && hasParam && method !== 'post') add(412, 'PreconditionFailed')
      add(422, 'ValidationFailed')
      add(500, 'InternalError')
      op.responses = r
    }
  }
  return doc
}

export interface RouteInfo {
  method: string
  path: string
  hooks?: { body?: unknown }
}

/** Paths whose body may also be a form (the OAuth2 password grant). */
const FORM_PATHS = new Set(['/api/v1/auth/login'])

/**
 * Our global body parser (limits, merge-patch JSON) hides route bodies from the OpenAPI generator,
 * which then emits `content: {}`; put each route's TypeBox body schema back as JSON (and as a form
 * where a route takes one).
 */
export function fillRequestBodies<T>(doc: T, routes: RouteInfo[]): T {
  const paths =
    (doc as { paths?: Record<string, Record<string, { requestBody?: { content?: object } }>> }).paths ?? {}
  for (const route of routes) {
    const body = route.hooks?.body
    if (!body || typeof body !== 'object') continue
    const op = paths[route.path.replace(/:([^/]+)/g, '{$1}')]?.[route.method.toLowerCase()]
    if (!op) continue
    const schema = JSON.parse(JSON.stringify(body))
    const content: Record<string, { schema: unknown }> = { 'application/json': { schema } }
    if (FORM_PATHS.has(route.path)) content['application/x-www-form-urlencoded'] = { schema }
    op.requestBody = { ...op.requestBody, content }
  }
  return doc
}
