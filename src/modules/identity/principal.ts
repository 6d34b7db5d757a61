import { and, eq, gt, isNull, or, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { prepared } from '../../db/prepared'
import { apiTokens, sessions, type UserRole, users } from '../../db/schema'
import { isUuid } from '../../lib/api'
import { sha256Hex } from '../../lib/crypto'
import type { Logger } from '../../lib/logger'
import type { Jwt } from './access-tokens'
import type { CachedPrincipal, PrincipalCache } from './principal-cache'

export const API_TOKEN_PREFIX = 'tb_'

export interface AuthUser {
  id: string
  email: string
  username: string
  fullName: string
  role: UserRole
  isActive: boolean
  emailVerified: boolean
  createdAt: Date
  updatedAt: Date
  version: number
}

/** Who is calling and through what: a login session (JWT) or a personal API token. */
export interface Principal {
  user: AuthUser
  via: 'session' | 'api_token'
  sessionId: string | null
  tokenId: string | null
  scope: 'read' | 'write'
  /** When the access token (a session's JWT) stops being valid, ms since the epoch; null for API tokens, checked in the database instead. */
  expiresAt: number | null
}

export const userColumns = {
  id: users.id,
  email: users.email,
  username: users.username,
  fullName: users.fullName,
  role: users.role,
  isActive: users.isActive,
  emailVerified: users.emailVerified,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
  version: users.version,
}

/** last_used_at is refreshed at most this often, off the request path. */
const TOUCH_EVERY_MS = 60_000

/**
 * Resolves a bearer token to a principal with at most one database round trip (user joined with
 * its live session or API token), none when `cache` (the embedded server's) has it. Returns null
 * for anything not valid.
 */
export function createAuthenticator(db: Db, jwt: Jwt, logger: Logger, cache?: PrincipalCache) {
  const touch = (what: string, run: () => Promise<unknown>) =>
    void run().catch((err) => logger.warn(`could not update ${what} last_used_at`, { err: String(err) }))
  const touchToken = (id: string) => () =>
    touch('api token', () => db.update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, id)))
  const touchSession = (id: string) => () =>
    touch('session', () => db.update(sessions).set({ lastUsedAt: new Date() }).where(eq(sessions.id, id)))
  /** Refreshes last_used_at when it is older than TOUCH_EVERY_MS; returns when it was last written. */
  const maybeTouch = (usedAt: number, run: () => void) => {
    const now = Date.now()
    if (now - usedAt <= TOUCH_EVERY_MS) return usedAt
    run()
    return now
  }

  // Built once, on first use: this runs on every authenticated request
  const byApiToken = () =>
    prepared(db, 'auth_api_token', (db) =>
      db
        .select({
          user: userColumns,
          tokenId: apiTokens.id,
          scope: apiTokens.scope,
          lastUsedAt: apiTokens.lastUsedAt,
          expiresAt: apiTokens.expiresAt,
        })
        .from(apiTokens)
        .innerJoin(users, eq(users.id, apiTokens.userId))
        .where(
          and(
            eq(apiTokens.tokenHash, sql.placeholder('hash')),
            or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, sql`now()`)),
          ),
        )
        .limit(1)
        .prepare('auth_api_token'),
    )
  const bySession = () =>
    prepared(db, 'auth_session', (db) =>
      db
        .select({ user: userColumns, lastUsedAt: sessions.lastUsedAt, expiresAt: sessions.expiresAt })
        .from(sessions)
        .innerJoin(users, eq(users.id, sessions.userId))
        .where(
          and(
            eq(sessions.id, sql.placeholder('sid')),
            eq(sessions.userId, sql.placeholder('sub')),
            isNull(sessions.revokedAt),
            gt(sessions.expiresAt, sql`now()`),
          ),
        )
        .limit(1)
        .prepare('auth_session'),
    )

  return async function authenticate(token: string): Promise<Principal | null> {
    const hit = cache?.get(token)
    if (hit) {
      hit.usedAt = maybeTouch(hit.usedAt, hit.touch)
      return hit.principal
    }
    const mark = cache?.mark() ?? 0
    const found = await lookup(token)
    if (!found) return null
    found.usedAt = maybeTouch(found.usedAt, found.touch)
    cache?.set(token, found, mark)
    return found.principal
  }

  async function lookup(token: string): Promise<CachedPrincipal | null> {
    if (token.startsWith(API_TOKEN_PREFIX)) {
      const [row] = await byApiToken().execute({ hash: sha256Hex(token) })
      if (!row) return null
      return {
        principal: {
          user: row.user,
          via: 'api_token',
          sessionId: null,
          tokenId: row.tokenId,
          scope: row.scope,
          expiresAt: null,
        },
        validUntil: row.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY,
        usedAt: row.lastUsedAt?.getTime() ?? 0,
        touch: touchToken(row.tokenId),
      }
    }
    const claims = await jwt.verifyAccess(token)
    if (!claims || !isUuid(claims.sid) || !isUuid(claims.sub)) return null
    const [row] = await bySession().execute({ sid: claims.sid, sub: claims.sub })
    if (!row) return null
    const expiresAt = claims.exp * 1000
    return {
      principal: {
        user: row.user,
        via: 'session',
        sessionId: claims.sid,
        tokenId: null,
        scope: 'write',
        expiresAt,
      },
      validUntil: Math.min(expiresAt, row.expiresAt.getTime()),
      usedAt: row.lastUsedAt.getTime(),
      touch: touchSession(claims.sid),
    }
  }
}

export type Authenticate = ReturnType<typeof createAuthenticator>
