import { Elysia } from 'elysia'
import type { UserRole } from '../db/schema'
import { type ApiLimits, limitClass, READ_METHODS } from '../lib/api-limits'
import { forbidden, unauthorized } from '../lib/errors'
import type { Authenticate, Principal } from '../modules/identity'
import { requestMeta } from './request-context'

const ROLE_RANK: Record<UserRole, number> = { user: 0, admin: 1, superadmin: 2 }

export const bearerSecurity = [{ bearerAuth: [] as string[] }]

export function bearer(headers: Record<string, string | undefined>): string | null {
  const m = headers.authorization?.match(/^Bearer[ ]+([^\s]+)\s*$/i)
  return m?.[1] ?? null
}

/**
 * The guard plugin. Routes declare what they need:
 *   { auth: true }            any active user (session JWT or API token)
 *   { auth: true, role: 'admin' }   global role at least admin (superadmin passes too)
 * A missing or invalid token is a 401 before body validation runs; an inactive user is a 403;
 * a `read` API token is refused (403) on every method that writes.
 * Project roles are resolved by the projects module on top of `principal`.
 */
/** The caller of each request, found in transform and handed to handlers by resolve. */
const principals = new WeakMap<Request, Principal>()

/** The authenticated caller of a guarded request (set before validation), or undefined. */
export const principalOf = (request: Request): Principal | undefined => principals.get(request)

/** Whose budget a request spends: the API token's own, or the user's for a login session. */
export const limitSubject = (principal: Principal) =>
  principal.tokenId ? `token:${principal.tokenId}` : `user:${principal.user.id}`

export const authPlugin = (authenticate: Authenticate, spend?: ApiLimits) =>
  new Elysia({ name: 'auth' })
    .macro('auth', {
      detail: { security: bearerSecurity },
      // transform runs before validation: a caller without a valid token learns nothing about the
      // schema (401 first), and a read token or a deactivated account gets its 403 first too; the
      // per-caller limit is counted next, before any of the request's own work
      async transform({ headers, request, path, set }) {
        const token = bearer(headers)
        if (!token) throw unauthorized()
        const principal = await authenticate(token)
        if (!principal) throw unauthorized('Invalid, expired or revoked token')
        requestMeta(request).userId = principal.user.id
        if (!principal.user.isActive) throw forbidden('This account is deactivated')
        if (principal.scope === 'read' && !READ_METHODS.has(request.method))
          throw forbidden('This API token has read scope only')
        if (spend) {
          const limitHeaders = await spend(limitClass(request.method, path), limitSubject(principal))
          if (limitHeaders) Object.assign(set.headers, limitHeaders)
        }
        principals.set(request, principal)
      },
      resolve({ request }): { principal: Principal } {
        const principal = principals.get(request)
        if (!principal) throw unauthorized()
        return { principal }
      },
    })
    .macro({
      role: (role: UserRole) => ({
        // An arrow with a destructured parameter, reading the principal from the request: Elysia's
        // sucrose infers what a hook uses from its source, and the minified method form
        // `beforeHandle(ctx){let{principal}=ctx;…}` broke its parser, which printed five non-JSON
        // "[Sucrose] warning" lines on stdout at the first admin request (issue 7 #9).
        beforeHandle: ({ request }) => {
          const principal = principals.get(request)
          if (!principal || ROLE_RANK[principal.user.role] < ROLE_RANK[role])
            throw forbidden(`Requires the ${role} role`)
        },
      }),
    })

export type AuthPlugin = ReturnType<typeof authPlugin>
