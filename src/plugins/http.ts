import { Elysia, type ValidationError } from 'elysia'
import type { Settings } from '../config'
import { LOGIN_PATH, MULTIPART_ROOM, UPLOAD_PATH } from '../lib/api'
import {
  AppError,
  badRequest,
  codeForStatus,
  type FieldError,
  internalError,
  methodNotAllowed,
  notFound,
  payloadTooLarge,
  unsupportedMediaType,
  validationFailed,
} from '../lib/errors'
import type { Logger } from '../lib/logger'
import type { Metrics } from '../lib/metrics'
import { problemResponse } from '../lib/problem'
import { requestMeta, startRequest } from './request-context'

const API_SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
}

/** The docs page runs the bundled Swagger UI: scripts and styles from this origin only. */
export const DOCS_CSP =
  "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'"

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/

/** Only the login route also takes a form body (the OAuth2 password grant); everything else is JSON. */
const FORM_TYPE = 'application/x-www-form-urlencoded'

const MULTIPART_TYPE = 'multipart/form-data'
const isUpload = (request: Request) =>
  request.method === 'POST' && UPLOAD_PATH.test(new URL(request.url).pathname)

/** JSON nested deeper than this is refused before validation walks it (a stack-depth attack). */
const MAX_JSON_DEPTH = 32

/** PostgreSQL text cannot hold U+0000: refuse it at the door instead of failing in the database. */
const NUL = '\u0000'

/**
 * One walk over a parsed body: too deep, or a string PostgreSQL cannot store — U+0000 (text
 * refuses it) or a lone UTF-16 surrogate (valid JSON escape, refused by jsonb).
 */
function inspectJson(value: unknown, limit: number): 'too_deep' | 'bad_text' | null {
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length) {
    const [v, d] = stack.pop()!
    if (typeof v === 'string') {
      if (v.includes(NUL) || !v.isWellFormed()) return 'bad_text'
      continue
    }
    if (v === null || typeof v !== 'object') continue
    if (d >= limit) return 'too_deep'
    for (const [k, child] of Object.entries(v)) {
      if (k.includes(NUL) || !k.isWellFormed()) return 'bad_text'
      stack.push([child, d + 1])
    }
  }
  return null
}

/** Why a request is refused before its body is read (413, 415, NUL in the query), or null. */
function refusal(request: Request, maxBody: number, maxUpload: number): AppError | null {
  const q = request.url.indexOf('?')
  if (q !== -1 && /%00/.test(request.url.slice(q))) return nulRefused()
  if (!BODY_METHODS.has(request.method) || !hasBody(request)) return null
  const len = Number(request.headers.get('content-length') ?? '0')
  const type = mediaType(request)
  // An upload streams into the attachments module, which checks the rest after authentication
  if (type === MULTIPART_TYPE && isUpload(request))
    return len > maxUpload + MULTIPART_ROOM ? payloadTooLarge(maxUpload) : null
  if (len > maxBody) return payloadTooLarge(maxBody)
  if (!type) return unsupportedMediaType('Content-Type is required for a request body')
  if (!JSON_TYPE.test(type) && !(type === FORM_TYPE && new URL(request.url).pathname === LOGIN_PATH))
    return unsupportedMediaType(`Content-Type ${type} is not supported; send application/json`)
  return null
}

const nulRefused = () =>
  badRequest('Text must be well-formed Unicode without NUL characters (U+0000) or unpaired surrogates')

export interface HttpDeps {
  settings: Pick<Settings, 'MAX_BODY_BYTES' | 'MAX_UPLOAD_BYTES' | 'ENVIRONMENT'> &
    Partial<Pick<Settings, 'PUBLIC_URL'>>
  logger: Logger
  /** Records every answered request when METRICS_ENABLED. */
  metrics?: Metrics
}

function mediaType(request: Request): string | null {
  const ct = request.headers.get('content-type')
  return ct ? (ct.split(';')[0]?.trim().toLowerCase() ?? null) : null
}

function hasBody(request: Request): boolean {
  const len = request.headers.get('content-length')
  if (len !== null) return len !== '0'
  return request.headers.has('transfer-encoding') || request.body !== null
}

/** Reads at most `limit` bytes of the body; a chunked body that goes over is a 413, never buffered whole. */
async function readLimited(request: Request, limit: number): Promise<string> {
  if (!request.body) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => {})
      throw payloadTooLarge(limit)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function fieldErrors(error: ValidationError): FieldError[] {
  const seen = new Map<string, FieldError>()
  for (const e of error.all) {
    const raw = 'path' in e && typeof e.path === 'string' ? e.path : ''
    const pointer = raw || '/'
    if (seen.has(pointer)) continue
    const field = pointer.replace(/^\//, '').replaceAll('/', '.') || error.type
    let message = ('message' in e && typeof e.message === 'string' ? e.message : 'is invalid').replace(
      /^Expected/,
      'expected',
    )
    if (/required property/i.test(message)) message = 'is required'
    else if (/unexpected property/i.test(message)) message = 'is not an allowed field'
    const schema = 'schema' in e ? (e.schema as { error?: unknown }) : undefined
    if (schema && typeof schema.error === 'string') message = schema.error
    seen.set(pointer, { field, pointer, message })
  }
  return [...seen.values()]
}

/**
 * What the log may say about an unexpected error. Drizzle's message carries the SQL and its
 * parameters (user input, token hashes, password hashes): log the database's own code and
 * message from `cause` instead, plus the stack of the original.
 */
export function describeError(error: unknown) {
  const e = error as { name?: string; message?: string; stack?: string; cause?: unknown }
  const cause = e?.cause as { code?: string; message?: string; severity?: string } | undefined
  const fromDb = typeof e?.message === 'string' && e.message.startsWith('Failed query:')
  const firstLine = (m?: string) => (m ?? '').split('\n')[0]
  return {
    name: e?.name ?? typeof error,
    message: fromDb
      ? `database error${cause?.code ? ` ${cause.code}` : ''}: ${cause?.message ?? 'query failed'}`
      : firstLine(e?.message),
    stack: fromDb ? cause && (cause as { stack?: string }).stack : e?.stack,
  }
}

export interface RouteLike {
  method: string
  path: string
}

const compiled = new WeakMap<
  readonly RouteLike[],
  { count: number; list: { method: string; re: RegExp }[] }
>()

/** A route pattern as a regex over the path: `:param` is one segment; catch-alls (`*`) never count. */
function patternOf(path: string): RegExp | null {
  if (path.includes('*')) return null
  const source = path
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${source}/?$`)
}

/**
 * The methods a known path answers (for 405 and `Allow`), sorted; empty when no route pattern
 * matches the path. GET brings HEAD (Elysia answers it); a catch-all OPTIONS (CORS preflight)
 * joins only a path that some real route matches.
 */
export function allowedMethods(routes: readonly RouteLike[], path: string): string[] {
  let c = compiled.get(routes)
  if (!c || c.count !== routes.length) {
    c = { count: routes.length, list: [] }
    for (const r of routes) {
      const re = patternOf(r.path)
      if (re) c.list.push({ method: r.method.toUpperCase(), re })
    }
    compiled.set(routes, c)
  }
  const methods = new Set<string>()
  for (const r of c.list) if (r.re.test(path)) methods.add(r.method)
  if (!methods.size) return []
  if (methods.has('GET')) methods.add('HEAD')
  for (const r of routes) if (r.path === '/*' && r.method.toUpperCase() === 'OPTIONS') methods.add('OPTIONS')
  return [...methods].sort()
}

const VALIDATION_DETAIL: Record<string, string> = {
  body: 'Request body is invalid',
  query: 'Query parameters are invalid',
  headers: 'Request headers are invalid',
  cookie: 'Cookies are invalid',
}

/**
 * Request id, access log, security headers, body limits and the one error handler that turns
 * every failure — ours, Elysia's, or an unexpected throw — into problem+json (API.md, Errors).
 */
export const httpPlugin = ({ settings, logger, metrics }: HttpDeps) => {
  // The route table of the app this plugin is mounted on answers "which methods does this path
  // take?" (405). Elysia points a used plugin's getGlobalRoutes at its parent's; used alone, its own.
  const plugin: { getGlobalRoutes(): RouteLike[] } = httpInstance({ settings, logger, metrics }, () =>
    plugin.getGlobalRoutes(),
  ) as unknown as { getGlobalRoutes(): RouteLike[] }
  return plugin as unknown as ReturnType<typeof httpInstance>
}

/** The security headers of every answer: with an https PUBLIC_URL, HSTS too (one year, subdomains). */
export const securityHeaders = (publicUrl: string): Record<string, string> =>
  publicUrl.startsWith('https://')
    ? { ...API_SECURITY_HEADERS, 'strict-transport-security': 'max-age=31536000; includeSubDomains' }
    : API_SECURITY_HEADERS

const httpInstance = ({ settings, logger, metrics }: HttpDeps, routes: () => readonly RouteLike[]) => {
  const headers = securityHeaders(settings.PUBLIC_URL ?? '')
  return new Elysia({ name: 'http', seed: settings })
    .onRequest(({ request, set }) => {
      const meta = startRequest(request)
      set.headers['x-request-id'] = meta.id
      Object.assign(set.headers, headers)
      // Not thrown here: the hooks registered after this one (CORS) must still add their headers.
      // Raised by the first hook after routing (parse, before any body is read, or beforeHandle) or,
      // on an unknown route, by the error handler.
      const refused = refusal(request, settings.MAX_BODY_BYTES, settings.MAX_UPLOAD_BYTES)
      if (refused) meta.refused = refused
    })
    .onParse({ as: 'global' }, async ({ request, contentType }) => {
      const refused = requestMeta(request).refused
      if (refused) throw refused
      const type = contentType?.split(';')[0]?.trim().toLowerCase() ?? ''
      // left unread: the upload route streams it (refusal() let only that route through)
      if (type === MULTIPART_TYPE) return {}
      if (JSON_TYPE.test(type)) {
        const text = await readLimited(request, settings.MAX_BODY_BYTES)
        if (!text.trim()) return undefined
        let value: unknown
        try {
          value = JSON.parse(text)
        } catch {
          throw badRequest('Request body is not valid JSON', 'malformed_json')
        }
        const problem = inspectJson(value, MAX_JSON_DEPTH)
        if (problem === 'too_deep')
          throw badRequest(`Request body is nested deeper than ${MAX_JSON_DEPTH} levels`, 'malformed_json')
        if (problem === 'bad_text') throw nulRefused()
        return value
      }
      if (type === 'application/x-www-form-urlencoded') {
        const text = await readLimited(request, settings.MAX_BODY_BYTES)
        const form = Object.fromEntries(new URLSearchParams(text))
        if (Object.values(form).some((v) => v.includes(NUL))) throw nulRefused()
        return form
      }
    })
    .onBeforeHandle({ as: 'global' }, ({ request }) => {
      const refused = requestMeta(request).refused
      if (refused) throw refused
    })
    .onError({ as: 'global' }, ({ code, error, request, path, set }) => {
      const meta = requestMeta(request)
      const base = { instance: path, requestId: meta.id }
      const headers: Record<string, string> = { 'x-request-id': meta.id }
      for (const [k, v] of Object.entries(set.headers)) if (typeof v === 'string') headers[k] = v
      delete headers['content-type']
      const respond = (e: AppError) => {
        meta.status = e.status
        return problemResponse({
          ...base,
          status: e.status,
          code: e.code,
          detail: e.detail,
          errors: e.errors,
          headers: { ...headers, ...e.headers },
        })
      }

      if (meta.refused instanceof AppError) return respond(meta.refused)
      if (error instanceof AppError) return respond(error)
      // Errors thrown while parsing arrive wrapped in Elysia's ParseError
      const cause = (error as { cause?: unknown })?.cause
      if (code === 'PARSE' && cause instanceof AppError) return respond(cause)
      if (code === 'VALIDATION') {
        if ((error as ValidationError).type === 'response') {
          logger.error('response failed its schema', {
            request_id: meta.id,
            route: meta.route,
            err: error.message,
          })
          return respond(internalError())
        }
        // A malformed id in the path names no resource: 404, like any unknown id
        if ((error as ValidationError).type === 'params') return respond(notFound())
        let errors: FieldError[]
        try {
          errors = fieldErrors(error as ValidationError)
        } catch {
          errors = [] // a pathological value the error walker cannot describe; the status still says it
        }
        return respond(
          validationFailed(
            errors,
            VALIDATION_DETAIL[(error as ValidationError).type] ?? 'Request is invalid',
          ),
        )
      }
      if (code === 'PARSE') return respond(badRequest('Request body could not be parsed', 'malformed_json'))
      if (code === 'NOT_FOUND') {
        const allow = allowedMethods(routes(), path)
        if (allow.length) return respond(methodNotAllowed(request.method, path, allow))
        return respond(new AppError('not_found', `No route for ${request.method} ${path}`))
      }
      if (code === 'INVALID_COOKIE_SIGNATURE') return respond(badRequest('Invalid cookie'))
      const status = (error as { status?: unknown })?.status
      if (typeof code === 'number' || (typeof status === 'number' && status >= 400 && status < 500)) {
        const s = typeof code === 'number' ? code : (status as number)
        if (s < 500) return respond(new AppError(codeForStatus(s), 'Request rejected'))
      }
      logger.error('unhandled error', {
        request_id: meta.id,
        method: request.method,
        route: meta.route ?? path,
        err: describeError(error),
      })
      return respond(internalError())
    })
    .onAfterHandle({ as: 'global' }, ({ request, route }) => {
      requestMeta(request).route = route
    })
    .onAfterResponse({ as: 'global' }, ({ request, route, set, path }) => {
      const meta = requestMeta(request)
      const status = meta.status ?? (typeof set.status === 'number' ? set.status : 200)
      const ms = performance.now() - meta.start
      // by route template only: a raw path would make one series per id (unbounded)
      metrics?.observe(request.method, route || meta.route || '(unmatched)', status, ms / 1000)
      logger.info('request', {
        method: request.method,
        route: route || meta.route || path,
        status,
        duration_ms: Math.round(ms * 100) / 100,
        request_id: meta.id,
        ...(meta.userId ? { user_id: meta.userId } : {}),
      })
    })
    .as('global')
}
