import { API_PREFIX, LOGIN_PATH } from '../lib/api'
import { compileAll } from './openapi-compile'
import { nameSchemas } from './openapi-names'
import { type Parameter, shapeParameters } from './openapi-params'
import { cleanSchemas, isObject, type Json } from './openapi-schemas'

type Response = { $ref?: string; description?: string; content?: Json; headers?: Json }
type Operation = {
  security?: Json[]
  responses?: Record<string, Response>
  parameters?: Parameter[]
  requestBody?: Json
  [IF_MATCH_MARK]?: boolean
}
type Doc = { paths?: Record<string, Record<string, Operation>>; components?: Json }

const ref = (name: string) => ({ $ref: `#/components/responses/${name}` })

/** Set by fillRequestBodies on operations whose handler reads If-Match; consumed by addErrorResponses. */
const IF_MATCH_MARK = 'x-taskbase-if-match'

/**
 * Statuses the generic rules below cannot see: they come from what a handler or service does.
 * Keyed by `METHOD /path` of the document. The test suite fails on any status it sees that the
 * document does not declare (tests/helpers/status-recorder.ts), so this table cannot silently lag.
 */
export const EXTRA_STATUSES: Record<string, number[]> = {
  'GET /ready': [503],
  [`POST ${API_PREFIX}/auth/register`]: [409, 429],
  [`POST ${API_PREFIX}/auth/password-reset/request`]: [429],
  [`POST ${API_PREFIX}/auth/email-change/undo`]: [409],
  [`POST ${LOGIN_PATH}`]: [401, 403, 429],
  [`POST ${API_PREFIX}/auth/refresh`]: [401, 403],
  [`PATCH ${API_PREFIX}/users/me`]: [409, 429],
  [`POST ${API_PREFIX}/users/me/password`]: [429],
  [`POST ${API_PREFIX}/users`]: [409],
  [`PATCH ${API_PREFIX}/users/{id}`]: [409],
  [`DELETE ${API_PREFIX}/users/{id}`]: [409],
  [`POST ${API_PREFIX}/projects`]: [409],
  [`PATCH ${API_PREFIX}/projects/{id}`]: [409],
  [`POST ${API_PREFIX}/projects/{id}/restore`]: [409],
  [`POST ${API_PREFIX}/projects/{id}/transfer`]: [409],
  [`POST ${API_PREFIX}/projects/{id}/members`]: [409],
  [`PATCH ${API_PREFIX}/projects/{id}/members/{user_id}`]: [409],
  [`DELETE ${API_PREFIX}/projects/{id}/members/{user_id}`]: [409],
  [`GET ${API_PREFIX}/admin/backup`]: [409],
  [`GET ${API_PREFIX}/realtime`]: [426, 503],
}

/** The shared problem+json response (components/responses) of each error status. */
const ERROR_RESPONSES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  412: 'PreconditionFailed',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  422: 'ValidationFailed',
  426: 'UpgradeRequired',
  429: 'RateLimited',
  500: 'InternalError',
  503: 'ServiceUnavailable',
}

/** Either scheme: a bearer token pasted in, or a login through the OAuth2 password flow (/docs). */
export const SECURED = [{ bearerAuth: [] }, { oauth2Password: [] }]

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

/** The statuses an operation can answer besides its own successes (see the README on errors). */
function errorStatuses(path: string, method: string, op: Operation): number[] {
  const statuses = new Set<number>([400, 500]) // NUL/surrogates in the query, malformed headers: any request
  const secured = Boolean(op.security?.length)
  const writes = ['post', 'put', 'patch', 'delete'].includes(method)
  const takesInput =
    (op.parameters ?? []).some((p) => p.in !== 'path') ||
    op.requestBody !== undefined ||
    ['post', 'put', 'patch'].includes(method)
  if (secured) statuses.add(401).add(403).add(429) // the per-caller limit counts every secured request
  if (path.includes('{')) statuses.add(404)
  if (writes) statuses.add(413).add(415) // any body on these methods is read, limited and typed
  if (takesInput) statuses.add(422)
  if (secured && method === 'post') statuses.add(409) // the same Idempotency-Key still in flight
  if (op[IF_MATCH_MARK]) statuses.add(412)
  for (const s of EXTRA_STATUSES[`${method.toUpperCase()} ${path}`] ?? []) statuses.add(s)
  return [...statuses]
}

/**
 * Post-processes the generated document: the contract's problem+json error responses on every
 * operation, 204s without content, Location/ETag response headers, the Idempotency-Key request
 * header and If-Match where the handler honours it, the export's media types, typed query
 * parameters, named schemas, the security requirements and lint-clean schemas.
 */
export function addErrorResponses<T>(doc: T): T {
  if (finished.has(doc as object)) return doc
  const paths = (doc as Doc).paths ?? {}
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!op || typeof op !== 'object') continue
      // keyed by user: anonymous POSTs (register, login) are not (README, Conventions)
      if (method === 'post' && op.security?.length) addParameter(op, IDEMPOTENCY_KEY)
      if (op[IF_MATCH_MARK]) addParameter(op, IF_MATCH)
      const r: Record<string, Response> = { ...op.responses }
      for (const status of errorStatuses(path, method, op))
        if (!(String(status) in r)) r[String(status)] = ref(ERROR_RESPONSES[status] ?? 'InternalError')
      fixResponses(doc as Doc, path, method, r)
      op.responses = Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)))
      // `{}` among the requirements: the token is optional (the realtime upgrade authenticates later)
      const optional = op.security?.some((req) => isObject(req) && !Object.keys(req).length)
      op.security = op.security?.length ? (optional ? [...SECURED, {}] : SECURED) : []
      delete op[IF_MATCH_MARK]
      for (const p of op.parameters ?? []) if (p.schema !== undefined) p.schema = plainScalar(p.schema)
      shapeParameters(op.parameters)
    }
  }
  nameSchemas(doc)
  cleanSchemas(doc as Json)
  finished.add(doc as object)
  return doc
}

/** Documents already post-processed (addErrorResponses runs on every fetch of the cached copy). */
const finished = new WeakSet<object>()

export interface RouteInfo {
  method: string
  path: string
  hooks?: { body?: unknown }
  handler?: unknown
  compile?: () => unknown
}

/** Paths whose body may also be a form (the OAuth2 password grant). */
const FORM_PATHS = new Set([LOGIN_PATH])

/** A handler honours If-Match when it reads the header (the services compare it with the version). */
const READS_IF_MATCH = /if-match/i

/** The finished document for each generated one (the generator caches its object per route count). */
const built = new WeakMap<object, object>()

/**
 * Builds the document we serve from the generator's output, once per generated object:
 * 1. compiles every route first: Elysia adds `additionalProperties: false` to a route's schemas
 *    when it compiles them (on its first request), and the generator's output shares those
 *    objects; compiling all of them makes the document independent of which routes ran before;
 * 2. works on a copy, so nothing below touches the schemas the validators use;
 * 3. puts each route's TypeBox body back as JSON (and as a form where a route takes one): our
 *    global body parser hides route bodies from the generator, which then emits `content: {}`;
 * 4. marks the operations whose handler reads If-Match.
 */
export function fillRequestBodies<T>(doc: T, routes: RouteInfo[]): T {
  const cached = built.get(doc as object)
  if (cached) return cached as T
  compileAll(routes)
  const copy = JSON.parse(JSON.stringify(doc)) as T
  const paths = (copy as { paths?: Record<string, Record<string, Operation>> }).paths ?? {}
  for (const route of routes) {
    const op = paths[route.path.replace(/:([^/]+)/g, '{$1}')]?.[route.method.toLowerCase()]
    if (!op) continue
    if (typeof route.handler === 'function' && READS_IF_MATCH.test(route.handler.toString()))
      op[IF_MATCH_MARK] = true
    const body = route.hooks?.body
    if (!body || typeof body !== 'object') continue
    const schema = JSON.parse(JSON.stringify(body))
    const content: Record<string, { schema: unknown }> = { 'application/json': { schema } }
    if (FORM_PATHS.has(route.path)) content['application/x-www-form-urlencoded'] = { schema }
    op.requestBody = { ...op.requestBody, content }
  }
  for (const item of Object.values(paths)) for (const op of Object.values(item)) closeBodies(op)
  built.set(doc as object, copy as object)
  return copy
}

/**
 * What compiling a route does to its body and response schemas (Elysia's getSchemaValidator): an
 * object schema without `additionalProperties` gets `false` — the first object branch of a union.
 * Applied to the copy too, because the generator copies some schemas before they were compiled.
 */
function closeBodies(op: Operation) {
  const close = (schema: unknown) => {
    if (!isObject(schema)) return
    const target = Array.isArray(schema.anyOf)
      ? (schema.anyOf as unknown[]).find((b) => isObject(b) && b.type === 'object')
      : schema
    if (isObject(target) && target.type === 'object' && !('additionalProperties' in target))
      target.additionalProperties = false
  }
  const media = (content: unknown) => {
    if (isObject(content)) for (const m of Object.values(content)) if (isObject(m)) close(m.schema)
  }
  if (isObject(op.requestBody)) media(op.requestBody.content)
  for (const r of Object.values(op.responses ?? {})) if (isObject(r)) media(r.content)
}
