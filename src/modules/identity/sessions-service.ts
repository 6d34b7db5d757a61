import { and, count, desc, eq, gt, isNotNull, isNull, lt, or, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { oneTimeTokens, refreshTokens, sessions, users } from '../../db/schema'
import { randomToken, sha256Hex } from '../../lib/crypto'
import { badRequest, forbidden, notFound, unauthorized } from '../../lib/errors'
import { type Page, pageOf } from '../../lib/pagination'
import type { Limit } from '../../lib/rate-limit'
import { type IdentityContext, isUuid, requireSession } from './context'
import { toPublicSession } from './model'
import type { Principal } from './principal'
import { endApiTokens, endSessions } from './users-service'

export const LOGIN_LIMITS = {
  /** Password checks per (IP, account) and minute; a correct password resets it. */
  perUser: { limit: 5, windowMs: 60_000 } satisfies Limit,
  /** Password checks per IP and minute; correct passwords are given back. */
  perIp: { limit: 20, windowMs: 60_000 } satisfies Limit,
  /** Password checks running or queued at once, per IP and per account. */
  inFlightPerIp: 4,
  inFlightPerAccount: 2,
}

const BAD_CREDENTIALS = 'Incorrect username or password'

export interface TokenPairOut {
  access_token: string
  refresh_token: string
  token_type: 'bearer'
  expires_in: number
}

/** A new refresh token for the session (only its hash is stored) and an access token carrying `sid`. */
async function issuePair(
  ctx: Pick<IdentityContext, 'db' | 'jwt' | 'settings'>,
  db: Db,
  userId: string,
  sessionId: string,
): Promise<TokenPairOut> {
  const refresh = randomToken(32)
  await db.insert(refreshTokens).values({ sessionId, tokenHash: sha256Hex(refresh) })
  const { token } = await ctx.jwt.signAccess(userId, sessionId, ctx.settings.ACCESS_TOKEN_TTL_SECONDS)
  return {
    access_token: token,
    refresh_token: refresh,
    token_type: 'bearer',
    expires_in: ctx.settings.ACCESS_TOKEN_TTL_SECONDS,
  }
}

const sessionExpiry = (ctx: Pick<IdentityContext, 'settings'>) =>
  new Date(Date.now() + ctx.settings.REFRESH_TOKEN_TTL_SECONDS * 1000)

/**
 * Runs `check` (a password verification) under the throttle of `account`: admission first (at most
 * a few checks in flight per IP and per account, else 429 at once, before the hasher's queue),
 * then the attempt is counted BEFORE the check, per (IP, account) and per IP, so concurrency
 * cannot get more checks than the limits allow. A correct password gives the IP's attempt back and
 * clears the account's count. The account key is the user id when the login names a user, so the
 * email, the username and their spellings share one bucket.
 */
export async function throttledCheck(
  ctx: Pick<IdentityContext, 'limiter' | 'inFlight'>,
  scope: string,
  ip: string,
  account: string,
  check: () => Promise<boolean>,
): Promise<boolean> {
  const accountKey = `${scope}:${ip}:${account}`
  const ipKey = `${scope}:${ip}`
  const leave = ctx.inFlight.enter([
    [`${scope}:ip:${ip}`, LOGIN_LIMITS.inFlightPerIp],
    [`${scope}:account:${account}`, LOGIN_LIMITS.inFlightPerAccount],
  ])
  try {
    const refundIp = await ctx.limiter.reserve(ipKey, LOGIN_LIMITS.perIp)
    try {
      await ctx.limiter.reserve(accountKey, LOGIN_LIMITS.perUser)
    } catch (e) {
      await refundIp() // refused before any check: not an attempt against the IP's budget
      throw e
    }
    const ok = await check()
    if (ok) {
      await refundIp()
      await ctx.limiter.reset(accountKey)
    }
    return ok
  } finally {
    leave()
  }
}

/**
 * Password login, throttled by throttledCheck; once over a limit the caller gets 429 before any
 * password work. Unknown users cost the same as known ones.
 */
export async function login(
  ctx: IdentityContext,
  input: { login: string; password: string; ip: string; userAgent: string | null },
): Promise<TokenPairOut> {
  const name = input.login.trim().toLowerCase()
  const [user] = await ctx.db
    .select({ id: users.id, passwordHash: users.passwordHash, isActive: users.isActive })
    .from(users)
    .where(or(sql`lower(${users.email}) = ${name}`, sql`lower(${users.username}) = ${name}`))
    .limit(1)
  const ok = await throttledCheck(ctx, 'login', input.ip, user ? `user:${user.id}` : `name:${name}`, () =>
    ctx.hasher.verify(input.password, user?.passwordHash),
  )
  if (!user || !ok) throw unauthorized(BAD_CREDENTIALS)
  if (!user.isActive) throw forbidden('This account is deactivated')
  return ctx.db.transaction(async (tx) => {
    const [session] = await tx
      .insert(sessions)
      .values({
        userId: user.id,
        userAgent: input.userAgent?.slice(0, 500) ?? null,
        ip: input.ip,
        expiresAt: sessionExpiry(ctx),
      })
      .returning({ id: sessions.id })
    return issuePair(ctx, tx, user.id, session!.id)
  })
}

const INVALID_REFRESH = 'Invalid, expired or revoked refresh token'

/**
 * Rotation with reuse detection. The token is marked used atomically (only one caller can flip
 * used_at); a token already used is either a tab racing within the grace window (→ another valid
 * pair) or a replay of a stolen token (→ the whole session ends).
 */
export async function refresh(ctx: IdentityContext, token: string): Promise<TokenPairOut> {
  const hash = sha256Hex(token)
  const live = and(isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`))
  const [claimed] = await ctx.db
    .update(refreshTokens)
    .set({ usedAt: new Date() })
    .where(and(eq(refreshTokens.tokenHash, hash), isNull(refreshTokens.usedAt)))
    .returning({ sessionId: refreshTokens.sessionId })
  let sessionId = claimed?.sessionId
  if (!sessionId) {
    const [used] = await ctx.db
      .select({ sessionId: refreshTokens.sessionId, usedAt: refreshTokens.usedAt })
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, hash))
      .limit(1)
    if (!used?.usedAt) throw unauthorized(INVALID_REFRESH)
    const graceMs = ctx.settings.REFRESH_REUSE_GRACE_SECONDS * 1000
    if (Date.now() - used.usedAt.getTime() >= graceMs || graceMs === 0) {
      await ctx.db
        .update(sessions)
        .set({ revokedAt: new Date() })
        .where(and(eq(sessions.id, used.sessionId), isNull(sessions.revokedAt)))
      ctx.logger.warn('refresh token reused; session revoked', { session_id: used.sessionId })
      throw unauthorized(INVALID_REFRESH)
    }
    sessionId = used.sessionId
  }
  const [session] = await ctx.db
    .update(sessions)
    .set({ lastUsedAt: new Date(), expiresAt: sessionExpiry(ctx) })
    .where(and(eq(sessions.id, sessionId), live))
    .returning({ userId: sessions.userId })
  if (!session) throw unauthorized(INVALID_REFRESH)
  const [user] = await ctx.db
    .select({ isActive: users.isActive })
    .from(users)
    .where(eq(users.id, session.userId))
  if (!user?.isActive) throw forbidden('This account is deactivated')
  return issuePair(ctx, ctx.db, session.userId, sessionId)
}

export async function endSession(db: Db, userId: string, sessionId: string) {
  const [ended] = await db
    .update(sessions)
    .set({ revokedAt: new Date() })
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id })
  if (!ended) throw notFound('Session')
}

/** My live sessions, most recently used first, one page of them and the total. */
export async function listSessions(db: Db, userId: string, page: Page) {
  const where = and(
    eq(sessions.userId, userId),
    isNull(sessions.revokedAt),
    gt(sessions.expiresAt, sql`now()`),
  )
  const [items, [total]] = await Promise.all([
    db
      .select({
        id: sessions.id,
        userAgent: sessions.userAgent,
        ip: sessions.ip,
        createdAt: sessions.createdAt,
        lastUsedAt: sessions.lastUsedAt,
      })
      .from(sessions)
      .where(where)
      .orderBy(desc(sessions.lastUsedAt), desc(sessions.id))
      .limit(page.pageSize)
      .offset(page.offset),
    db.select({ n: count() }).from(sessions).where(where),
  ])
  return { items, total: total?.n ?? 0 }
}

/** Housekeeping: sessions expired or ended over a day ago (their refresh tokens cascade) and expired one-time tokens. */
export async function purgeExpired(db: Db) {
  const dayAgo = sql`now() - interval '1 day'`
  const gone = await db
    .delete(sessions)
    .where(
      or(lt(sessions.expiresAt, dayAgo), and(isNotNull(sessions.revokedAt), lt(sessions.revokedAt, dayAgo))),
    )
    .returning({ id: sessions.id })
  const tokens = await db
    .delete(oneTimeTokens)
    .where(lt(oneTimeTokens.expiresAt, sql`now()`))
    .returning({ id: oneTimeTokens.id })
  return { sessions: gone.length, oneTimeTokens: tokens.length }
}

/** `POST /auth/logout`: ends the current session (an API token has none: 400, revoke it instead). */
export async function logout(ctx: Pick<IdentityContext, 'db'>, principal: Principal) {
  if (!principal.sessionId) throw badRequest('An API token has no session; revoke the token instead')
  await endSession(ctx.db, principal.user.id, principal.sessionId)
}

/** `POST /auth/logout-all`: from a login session; every session and every API token ends. */
export async function logoutAll(ctx: Pick<IdentityContext, 'db'>, principal: Principal) {
  requireSession(principal, 'Ending every session needs a login session, not an API token')
  await endSessions(ctx.db, principal.user.id)
  await endApiTokens(ctx.db, principal.user.id)
}

/** `GET /auth/sessions`: mine, the one making the request marked `current`. */
export async function listMySessions(ctx: Pick<IdentityContext, 'db'>, principal: Principal, page: Page) {
  const { items, total } = await listSessions(ctx.db, principal.user.id, page)
  return pageOf(
    items.map((s) => toPublicSession(s, principal.sessionId)),
    total,
    page,
  )
}

/** `DELETE /auth/sessions/{id}`: from a login session, like logout-all. */
export async function endMySession(ctx: Pick<IdentityContext, 'db'>, principal: Principal, id: string) {
  requireSession(principal, 'Ending a session needs a login session, not an API token')
  if (!isUuid(id)) throw notFound('Session')
  await endSession(ctx.db, principal.user.id, id)
}
