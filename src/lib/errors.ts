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
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

/** A failure the client caused or may know about; rendered as problem+json by the error handler. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail)
    this.name = 'AppError'
  }
}

export const fieldError = (field: string, message: string): FieldError => ({
  field,
  pointer: `/${field.replaceAll('.', '/')}`,
  message,
})

export const badRequest = (detail: string, code = 'bad_request') => new AppError(400, code, detail)
export const unauthorized = (detail = 'Authentication required') =>
  new AppError(401, 'unauthorized', detail, undefined, { 'WWW-Authenticate': 'Bearer' })
export const forbidden = (detail = 'You are not allowed to do this') => new AppError(403, 'forbidden', detail)
export const notFound = (what = 'Resource') => new AppError(404, 'not_found', `${what} not found`)
export const conflict = (detail: string, errors?: FieldError[]) =>
  new AppError(409, 'conflict', detail, errors)
export const preconditionFailed = (detail = 'The resource has changed (If-Match does not match)') =>
  new AppError(412, 'precondition_failed', detail)
export const payloadTooLarge = (limit: number) =>
  new AppError(413, 'payload_too_large', `Request body exceeds ${limit} bytes`)
export const unsupportedMediaType = (detail: string) => new AppError(415, 'unsupported_media_type', detail)
export const validationFailed = (errors: FieldError[], detail = 'Request is invalid') =>
  new AppError(422, 'validation_failed', detail, errors)
export const rateLimited = (retryAfterSeconds: number) =>
  new AppError(429, 'rate_limited', 'Too many requests, try again later', undefined, {
    'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))),
  })
export const unavailable = (detail = 'Service unavailable') => new AppError(503, 'unavailable', detail)
