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
    limiter: new RateLimiter(deps.rateLimitStore),
    inFlight: new InFlightLimiter(),
  }
  return new Elysia({ name: 'identity', seed: deps.settings })
    .use(deps.auth)
    .use(authRoutes(deps, ctx))
    .use(meRoutes(deps, ctx))
    .use(adminRoutes(deps, ctx))
}

// what the rest of the process uses: the guard's authenticator, access tokens, the CLI's account
// creation and password hashing, and the jobs' mail and purge
export { createJwt, type Jwt } from './access-tokens'
export { mailJob } from './mail-jobs'
export { createPasswordHasher } from './password'
export { type Authenticate, createAuthenticator, type Principal } from './principal'
export { purgeExpired } from './sessions-service'
export { createAccount } from './users-service'
