import type { Settings } from '../../config'
import type { Db } from '../../db/client'
import { fieldError, validationFailed } from '../../lib/errors'
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const isUuid = (id: string) => UUID.test(id)

/** A date-time in the future, or a 422 on `field`. */
export function futureDate(value: string, field: string): Date {
  const date = new Date(value)
  if (Number.isNaN(date.getTime()) || date.getTime() <= Date.now())
    throw validationFailed([fieldError(field, 'must be in the future')])
  return date
}

/** Where the app mounts the API; used for Location headers. */
export const API_PREFIX_PATH = '/api/v1'
