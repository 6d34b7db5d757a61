import { Elysia } from 'elysia'
import type { Db } from '../../db/client'
import type { IdentityDeps } from '../../deps'
import type { Logger } from '../../lib/logger'
import { createMailer } from '../../lib/mailer'
import { InFlightLimiter, RateLimiter } from '../../lib/rate-limit'
import { createPasswordHasher } from '../auth/password'
import { adminRoutes } from './admin-routes'
import { authRoutes } from './auth-routes'
import type { IdentityContext } from './context'
import { meRoutes } from './me-routes'
import { purgeExpired } from './sessions-service'

export const PURGE_INTERVAL_MS = 3_600_000

/**
 * Runs purgeExpired every `intervalMs` on an unref'd timer (it never keeps the process alive).
 * Returns the function that stops it.
 */
export function startPurgeTimer(db: Db, logger: Logger, intervalMs = PURGE_INTERVAL_MS): () => void {
  let running = false
  const timer = setInterval(async () => {
    if (running) return
    running = true
    try {
      const purged = await purgeExpired(db)
      logger.info('expired sessions and tokens purged', purged)
    } catch (err) {
      logger.error('purging expired sessions failed', { err: String(err) })
    } finally {
      running = false
    }
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}

/** Auth, users, sessions, API tokens and user administration (API.md, Identity). */
export const identityModule = (deps: IdentityDeps) => {
  const ctx: IdentityContext = {
    db: deps.database.db,
    settings: deps.settings,
    logger: deps.logger,
    jwt: deps.jwt,
    hasher: createPasswordHasher(deps.settings),
    mailer: deps.mailer ?? createMailer(deps.settings, deps.logger),
    limiter: new RateLimiter(),
    inFlight: new InFlightLimiter(),
  }
  return new Elysia({ name: 'identity', seed: deps.settings })
    .use(deps.auth)
    .use(authRoutes(deps, ctx))
    .use(meRoutes(deps, ctx))
    .use(adminRoutes(deps, ctx))
}
