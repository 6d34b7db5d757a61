import type { Settings } from '../../config'
import type { Db } from '../../db/client'
import { fieldError, forbidden, validationFailed } from '../../lib/errors'
import type { Logger } from '../../lib/logger'
import type { InFlightLimiter, RateLimiter } from '../../lib/rate-limit'
import type { Jwt } from './access-tokens'
import type { PasswordHasher } from './password'
import type { Principal } from './principal'

export { API_PREFIX as API_PREFIX_PATH, isUuid } from '../../lib/api'

/** What the identity services work with; built once per app in index.ts. */
export interface IdentityContext {
  db: Db
  settings: Settings
  logger: Logger
  jwt: Jwt
  hasher: PasswordHasher
  limiter: RateLimiter
  /** Password checks in flight per IP and per account (admission before the hasher's queue). */
  inFlight: InFlightLimiter
}

/** RFC 3339 / ISO 8601 date-time: 4-digit year, `T`, seconds, optional fraction, `Z` or `±hh:mm`. */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/i
/** How far ahead a date given by a client (an API token's expiry) may be. */
export const MAX_FUTURE_YEARS = 10

/** Milliseconds since the epoch, or null when `value` is not a real calendar date-time. */
function parseDateTime(m: RegExpExecArray): number | null {
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const offset = m[8] ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]))
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate()
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth || h > 23 || mi > 59 || s > 59) return null
  if (Number(m[10] ?? 0) > 23 || Number(m[11] ?? 0) > 59) return null
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3))
  return Date.UTC(y, mo - 1, d, h, mi, s, ms) - offset * 60_000
}

/**
 * A full ISO 8601 date-time with a time zone (`2030-01-01T00:00:00Z`, `...+02:00`) that is a real
 * calendar date, in the future and at most MAX_FUTURE_YEARS ahead; otherwise a 422 on `field`.
 */
export function futureDate(value: string, field: string): Date {
  const m = DATE_TIME.exec(value)
  if (!m)
    throw validationFailed([
      fieldError(field, 'must be an ISO 8601 date-time with a time zone, like 2030-01-01T00:00:00Z'),
    ])
  const time = parseDateTime(m)
  if (time === null) throw validationFailed([fieldError(field, 'is not a valid calendar date and time')])
  if (time <= Date.now()) throw validationFailed([fieldError(field, 'must be in the future')])
  const max = new Date()
  max.setUTCFullYear(max.getUTCFullYear() + MAX_FUTURE_YEARS)
  if (time > max.getTime())
    throw validationFailed([fieldError(field, `must be at most ${MAX_FUTURE_YEARS} years ahead`)])
  return new Date(time)
}

/** Account-level changes need a login session: a personal API token gets a 403. */
export function requireSession(principal: Principal, detail: string) {
  if (principal.via !== 'session') throw forbidden(detail)
}
