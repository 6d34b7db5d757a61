import { Elysia } from 'elysia'
import type { IdentityDeps } from '../../deps'
import { InFlightLimiter, RateLimiter } from '../../lib/rate-limit'
import { adminRoutes } from './admin-routes'
import { authRoutes } from './auth-routes'
import type { IdentityContext } from './context'
import { meRoutes } from './me-routes'
import { createPasswordHasher } from './password'

/** Auth, users, sessions, API tokens and user administration (API.md, Identity). */
export const identityModule = (deps: IdentityDeps) => {
  const ctx: IdentityContext = {
    db: deps.database.db,
    settings: deps.settings,
    logger: deps.logger,
    jwt: deps.jwt,
    hasher: createPasswordHasher(deps.settings),
    limiter: new RateLimiter(),
    inFlight: new InFlightLimiter(),
  }
  return new Elysia({ name: 'identity', seed: deps.settings })
    .use(deps.auth)
    .use(authRoutes(deps, ctx))
    .use(meRoutes(deps, ctx))
    .use(adminRoutes(deps, ctx))
}
