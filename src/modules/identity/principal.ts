import { and, eq, gt, isNull, or, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { prepared } from '../../db/prepared'
import { apiTokens, sessions, type UserRole, users } from '../../db/schema'
import { isUuid } from '../../lib/api'
import { sha256Hex } from '../../lib/crypto'
import type { Logger } from '../../lib/logger'
import type { Jwt } from './access-tokens'

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
 * Resolves a bearer token to a principal with exactly one database round trip
 * (user joined with its live session or API token). Returns null for anything not valid.
 */
export function createAuthenticator(db: Db, jwt: Jwt, logger: Logger) {
  const touch = (what: string, run: () => Promise<unknown>) =>
    void run().catch((err) => logger.warn(`could not update ${what} last_used_at`, { err: String(err) }))

  // Built once, on first use: this runs on every authenticated request
  const byApiToken = () =>
    prepared(db, 'auth_api_token', (db) =>
      db
        .select({
          user: userColumns,
          tokenId: apiTokens.id,
          scope: apiTokens.scope,
          lastUsedAt: apiTokens.lastUsedAt,
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
        .select({ user: userColumns, lastUsedAt: sessions.lastUsedAt })
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
    if (token.startsWith(API_TOKEN_PREFIX)) {
      const [row] = await byApiToken().execute({ hash: sha256Hex(token) })
      if (!row) return null
      if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > TOUCH_EVERY_MS)
        touch('api token', () =>
          db.update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, row.tokenId)),
        )
      return {
        user: row.user,
        via: 'api_token',
        sessionId: null,
        tokenId: row.tokenId,
        scope: row.scope,
        expiresAt: null,
      }
    }
    const claims = await jwt.verifyAccess(token)
    if (!claims || !isUuid(claims.sid) || !isUuid(claims.sub)) return null
    const [row] = await bySession().execute({ sid: claims.sid, sub: claims.sub })
    if (!row) return null
    if (Date.now() - row.lastUsedAt.getTime() > TOUCH_EVERY_MS)
      touch('session', () =>
        db.update(sessions).set({ lastUsedAt: new Date() }).where(eq(sessions.id, claims.sid)),
      )
    return {
      user: row.user,
      via: 'session',
      sessionId: claims.sid,
      tokenId: null,
      scope: 'write',
      expiresAt: claims.exp * 1000,
    }
  }
}

export type Authenticate = ReturnType<typeof createAuthenticator>
