import { LOGIN_PATH } from '../lib/api'

type Json = Record<string, unknown>
type Parameter = { name?: string; in?: string; schema?: unknown }
type Response = { $ref?: string; description?: string; content?: Json; headers?: Json }
type Operation = {
  security?: unknown[]
  responses?: Record<string, Response>
  parameters?: Parameter[]
}
type Doc = { paths?: Record<string, Record<string, Operation>>; components?: Json }

const ref = (name: string) => ({ $ref: `#/components/responses/${name}` })
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

const REASONS: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted',
  '204': 'No Content',
}

const IDEMPOTENCY_KEY = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Makes the POST safe to retry: a repeat with the same key and body within 24 h returns the stored response (with `Idempotency-Replayed: true`); the same key with another body is a 422, a repeat while the first still runs a 409.',
  schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7e]+$' },
}
const IF_MATCH = {
  name: 'If-Match',
  in: 'header',
  required: false,
  description: 'The ETag (`"<version>"`) last seen; a mismatch is a 412. Without it the last write wins.',
  schema: { type: 'string', examples: ['"3"'] },
}
const LOCATION = {
  description: 'URL of the created resource',
  schema: { type: 'string', format: 'uri-reference' },
}
const ETAG = {
  description: 'The resource version, `"<version>"`; send it back as If-Match',
  schema: { type: 'string' },
}

/** Streamed exports: the generator only knows `t.String()` and calls it text/plain. */
const EXPORT_CONTENT = {
  'text/csv': { schema: { type: 'string', description: 'CSV with a header row, one task per line' } },
  'application/x-ndjson': { schema: { type: 'string', description: 'One task JSON object per line' } },
}

/** The string branch Elysia adds to a query/path schema so it can coerce "5" or "true". */
const COERCED: Record<string, string[]> = {
  numeric: ['number', 'integer'],
  integer: ['integer'],
  boolean: ['boolean'],
}

/**
 * `t.Numeric()` / `t.Integer()` / `t.BooleanString()` render as `anyOf: [{type: string, format:
 * numeric}, {type: number, ...}]` (elysia-openapi#287). Clients should see the typed branch:
 * `{type: integer, minimum, maximum, default}`. Anything else is returned unchanged.
 */
export function plainScalar(schema: unknown): unknown {
  if (!isObject(schema) || !Array.isArray(schema.anyOf) || schema.anyOf.length !== 2) return schema
  const branches = schema.anyOf as unknown[]
  const coerced = branches.find(
    (b) => isObject(b) && b.type === 'string' && typeof b.format === 'string' && b.format in COERCED,
  ) as Json | undefined
  const typed = branches.find((b) => b !== coerced) as Json | undefined
  if (!coerced || !isObject(typed) || !COERCED[coerced.format as string]!.includes(typed.type as string))
    return schema
  const { anyOf: _, ...outer } = schema
  const { type, ...rest } = typed
  const out: Json = { ...outer, ...rest }
  out.type = type === 'number' && out.multipleOf === 1 ? 'integer' : type
  if (out.type === 'integer' && out.multipleOf === 1) delete out.multipleOf
  return out
}

/** The JSON schema of a response (following one `$ref` into components.schemas). */
function jsonSchemaOf(doc: Doc, response: Response): Json | undefined {
  const schema = (response.content?.['application/json'] as Json | undefined)?.schema
  if (isObject(schema) && typeof schema.$ref === 'string') {
    const name = schema.$ref.replace('#/components/schemas/', '')
    return (doc.components?.schemas as Json | undefined)?.[name] as Json | undefined
  }
  return isObject(schema) ? schema : undefined
}

/** Fixes what the generator gets wrong in success responses and adds our headers. */
function fixResponses(doc: Doc, path: string, method: string, r: Record<string, Response>) {
  for (const [status, response] of Object.entries(r)) {
    if (!isObject(response) || response.$ref) continue
    // t.Void() comes out as `content: {type: 'void'}`: a 204 has no body at all
    if (status === '204') r[status] = { description: REASONS['204']! }
    else {
      response.description ??= REASONS[status] ?? `Status ${status}`
      if (response.content) {
        for (const [type, media] of Object.entries(response.content))
          if (!type.includes('/') || !isObject(media)) delete response.content[type]
        if (!Object.keys(response.content).length) delete response.content
      }
      if (status === '200' && method === 'get' && path.endsWith('/export')) response.content = EXPORT_CONTENT
      const headers: Json = { ...response.headers }
      if (status === '201') headers.Location = LOCATION
      const schema = jsonSchemaOf(doc, response)
      if (
        (status === '200' || status === '201') &&
        isObject(schema?.properties) &&
        'version' in schema.properties
      )
        headers.ETag = ETAG
      if (Object.keys(headers).length) response.headers = headers
    }
  }
}

function addParameter(op: Operation, param: { name: string; in: string }) {
  const params = op.parameters ?? []
  const name = param.name.toLowerCase()
  if (!params.some((p) => p.in === param.in && p.name?.toLowerCase() === name)) params.push(param)
  op.parameters = params
}

/**
 * Post-processes the generated document: the contract's problem+json error responses on every
 * operation, 204s without content, Location/ETag response headers, the Idempotency-Key and
 * If-Match request headers, the export's media types, and plain integer/boolean query parameters.
 */
export function addErrorResponses<T>(doc: T): T {
  const paths = (doc as Doc).paths ?? {}
  for (const [path, item] of Object.entries(paths)) {
    const hasParam = path.includes('{')
    // one resource: a path ending in a parameter or the caller's own (/users/me)
    const oneResource = hasParam || path.endsWith('/me')
    for (const [method, op] of Object.entries(item)) {
      if (!op || typeof op !== 'object') continue
      const r: Record<string, Response> = { ...op.responses }
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
      if (writes && oneResource && method !== 'post') {
        add(412, 'PreconditionFailed')
        addParameter(op, IF_MATCH)
      }
      add(422, 'ValidationFailed')
      add(500, 'InternalError')
      fixResponses(doc as Doc, path, method, r)
      op.responses = r
      if (method === 'post') addParameter(op, IDEMPOTENCY_KEY)
      for (const p of op.parameters ?? []) if (p.schema !== undefined) p.schema = plainScalar(p.schema)
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
const FORM_PATHS = new Set([LOGIN_PATH])

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
