export interface FieldError {
  field: string
  pointer: string
  message: string
}

export const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Content',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

/**
 * Every error code Taskbase answers with, its status and when (the closed set: AppError takes
 * nothing else). The README's error table is generated from it (`bun scripts/error-table.ts`).
 */
export const ERROR_CODES = {
  bad_request: {
    status: 400,
    when: 'a bad header or parameter, or text PostgreSQL cannot store (U+0000, unpaired surrogates)',
  },
  malformed_json: { status: 400, when: 'a body that does not parse, or JSON nested deeper than 32 levels' },
  unsupported_grant_type: {
    status: 400,
    when: '`POST /auth/login` with a `grant_type` other than `password` (OAuth 2)',
  },
  unauthorized: {
    status: 401,
    when: 'no, invalid, expired or revoked token, or wrong credentials; with `WWW-Authenticate: Bearer`',
  },
  forbidden: {
    status: 403,
    when: 'authenticated, but the role, the token scope or the kind of credential does not allow it',
  },
  not_found: {
    status: 404,
    when: 'unknown route or resource, and any resource of a project the caller is not a member of',
  },
  method_not_allowed: { status: 405, when: 'a known path with another method; `Allow` lists its methods' },
  conflict: { status: 409, when: 'a duplicate (email, username, project name, member) or a state conflict' },
  precondition_failed: { status: 412, when: '`If-Match` does not match the current version' },
  payload_too_large: { status: 413, when: 'a body over `MAX_BODY_BYTES`, or a file over `MAX_UPLOAD_BYTES`' },
  storage_quota_exceeded: {
    status: 413,
    when: 'an attachment that would take the project over `PROJECT_STORAGE_BYTES`',
  },
  unsupported_media_type: {
    status: 415,
    when: 'a content type the route does not take, or an attachment whose bytes are not of an allowed type',
  },
  range_not_satisfiable: {
    status: 416,
    when: 'a `Range` outside the file; `Content-Range: bytes */size` gives its size',
  },
  validation_failed: {
    status: 422,
    when: 'a schema or business-rule violation; `errors[]` lists the fields',
  },
  upgrade_required: {
    status: 426,
    when: '`GET /realtime` without a WebSocket upgrade (`Upgrade: websocket`)',
  },
  rate_limited: { status: 429, when: 'a throttle refused the request; `Retry-After` says when to try again' },
  internal_error: {
    status: 500,
    when: 'a failure of ours: never a stack trace or SQL; the log has it under `request_id`',
  },
  unavailable: { status: 503, when: 'not ready: database unreachable, or shutting down' },
} as const satisfies Record<string, { status: number; when: string }>

export type ErrorCode = keyof typeof ERROR_CODES
/** The codes answered with `status`. */
export type CodeOf<S extends number> = {
  [C in ErrorCode]: (typeof ERROR_CODES)[C]['status'] extends S ? C : never
}[ErrorCode]

/** The code of a framework error that carries only a status: the first code of that status, else bad_request. */
export function codeForStatus(status: number): ErrorCode {
  const code = (Object.keys(ERROR_CODES) as ErrorCode[]).find((c) => ERROR_CODES[c].status === status)
  return status === 400 || !code ? 'bad_request' : code
}

/** A failure the client caused or may know about; rendered as problem+json by the error handler. */
export class AppError extends Error {
  readonly status: number

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail)
    this.name = 'AppError'
    this.status = ERROR_CODES[code].status
  }
}

export const fieldError = (field: string, message: string): FieldError => ({
  field,
  pointer: `/${field.replaceAll('.', '/')}`,
  message,
})

export const badRequest = (detail: string, code: CodeOf<400> = 'bad_request') => new AppError(code, detail)
export const unauthorized = (detail = 'Authentication required') =>
  new AppError('unauthorized', detail, undefined, { 'WWW-Authenticate': 'Bearer' })
export const forbidden = (detail = 'You are not allowed to do this') => new AppError('forbidden', detail)
export const notFound = (what = 'Resource') => new AppError('not_found', `${what} not found`)
export const methodNotAllowed = (method: string, path: string, allow: string[]) =>
  new AppError('method_not_allowed', `${method} is not allowed on ${path}`, undefined, {
    allow: allow.join(', '),
  })
export const conflict = (detail: string, errors?: FieldError[]) => new AppError('conflict', detail, errors)
export const preconditionFailed = (detail = 'The resource has changed (If-Match does not match)') =>
  new AppError('precondition_failed', detail)
export const payloadTooLarge = (limit: number) =>
  new AppError('payload_too_large', `Request body exceeds ${limit} bytes`)
export const unsupportedMediaType = (detail: string) => new AppError('unsupported_media_type', detail)
export const validationFailed = (errors: FieldError[], detail = 'Request is invalid') =>
  new AppError('validation_failed', detail, errors)
export const rateLimited = (retryAfterSeconds: number, headers: Record<string, string> = {}) =>
  new AppError('rate_limited', 'Too many requests, try again later', undefined, {
    ...headers,
    'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))),
  })
export const internalError = () => new AppError('internal_error', 'Internal server error')
export const unavailable = (detail = 'Service unavailable') => new AppError('unavailable', detail)
