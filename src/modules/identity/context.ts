import type { Settings } from '../../config'
import type { Db } from '../../db/client'
import { fieldError, preconditionFailed, validationFailed } from '../../lib/errors'
import type { Logger } from '../../lib/logger'
import type { Mailer } from '../../lib/mailer'
import type { RateLimiter } from '../../lib/rate-limit'
import type { Jwt } from '../auth/jwt'
import type { PasswordHasher } from '../auth/password'

/** What the identity services work with; built once per app in index.ts. */
export interface IdentityContext {
  db: Db
  settings: Settings
  logger: Logger
  jwt: Jwt
  hasher: PasswordHasher
  mailer: Mailer
  limiter: RateLimiter
}

/**
 * The constraint name of a unique violation (SQLSTATE 23505), or null for any other error.
 * Drizzle wraps driver errors in DrizzleQueryError with the original as `cause`; postgres.js calls
 * the constraint `constraint_name`, PGlite `constraint`.
 */
export function uniqueViolation(error: unknown): string | null {
  let e: unknown = error
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const o = e as { code?: unknown; constraint_name?: unknown; constraint?: unknown; cause?: unknown }
    if (o.code === '23505') return String(o.constraint_name ?? o.constraint ?? 'unique')
    e = o.cause
  }
  return null
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const isUuid = (id: string) => UUID.test(id)

/**
 * The versions an `If-Match` header accepts: undefined when absent or `*` (last write wins).
 * A header naming no version of ours can never match, so it is a 412 right away.
 */
export function expectedVersions(header: string | undefined | null): number[] | undefined {
  if (!header || header.trim() === '*') return undefined
  const versions = header
    .split(',')
    .map((tag) => tag.trim().match(/^(?:W\/)?"(\d{1,9})"$/)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
  if (!versions.length) throw preconditionFailed()
  return versions
}

export const etag = (version: number) => `"${version}"`

/** A date-time in the future, or a 422 on `field`. */
export function futureDate(value: string, field: string): Date {
  const date = new Date(value)
  if (Number.isNaN(date.getTime()) || date.getTime() <= Date.now())
    throw validationFailed([fieldError(field, 'must be in the future')])
  return date
}

/** Where the app mounts the API; used for Location headers. */
export const API_PREFIX_PATH = '/api/v1'
