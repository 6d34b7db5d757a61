import { and, count, desc, eq, gt, isNull, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { type ApiTokenScope, apiTokens, type OneTimePurpose, oneTimeTokens, users } from '../../db/schema'
import { randomToken, sha256Hex } from '../../lib/crypto'
import { conflict, fieldError, notFound, validationFailed } from '../../lib/errors'
import { type Page, pageOf } from '../../lib/pagination'
import { uniqueViolation } from '../../lib/pg-errors'
import type { Limit } from '../../lib/rate-limit'
import { futureDate, type IdentityContext, isUuid, requireSession } from './context'
import { queueMail } from './mail-jobs'
import { toPublicToken } from './model'
import { passwordProblems } from './password'
import { API_TOKEN_PREFIX, type AuthUser, type Principal } from './principal'
import { endApiTokens, endSessions, setPassword } from './users-service'

export const RESET_REQUEST_LIMIT: Limit = { limit: 3, windowMs: 3_600_000 }
/** Reset requests per client IP and hour: bounds the mail jobs one client can queue. */
export const RESET_REQUEST_IP_LIMIT: Limit = { limit: 20, windowMs: 3_600_000 }

const tokenColumns = {
  id: apiTokens.id,
  name: apiTokens.name,
  scope: apiTokens.scope,
  createdAt: apiTokens.createdAt,
  lastUsedAt: apiTokens.lastUsedAt,
  expiresAt: apiTokens.expiresAt,
}

/** A personal API token; the secret is returned here once and only its SHA-256 is stored. */
export async function createApiToken(
  db: Db,
  userId: string,
  input: { name: string; scope: ApiTokenScope; expiresAt: Date | null },
) {
  const token = `${API_TOKEN_PREFIX}${randomToken(32)}`
  const [row] = await db
    .insert(apiTokens)
    .values({
      userId,
      name: input.name,
      scope: input.scope,
      expiresAt: input.expiresAt,
      tokenHash: sha256Hex(token),
    })
    .returning(tokenColumns)
  return { ...row!, token }
}

/** My API tokens (no secrets), newest first, one page of them and the total. */
export async function listApiTokens(db: Db, userId: string, page: Page) {
  const where = eq(apiTokens.userId, userId)
  const [items, [total]] = await Promise.all([
    db
      .select(tokenColumns)
      .from(apiTokens)
      .where(where)
      .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id))
      .limit(page.pageSize)
      .offset(page.offset),
    db.select({ n: count() }).from(apiTokens).where(where),
  ])
  return { items, total: total?.n ?? 0 }
}

export async function getApiToken(db: Db, userId: string, id: string) {
  const [row] = await db
    .select(tokenColumns)
    .from(apiTokens)
    .where(and(eq(apiTokens.id, id), eq(apiTokens.userId, userId)))
    .limit(1)
  if (!row) throw notFound('API token')
  return row
}

export async function deleteApiToken(db: Db, userId: string, id: string) {
  const [gone] = await db
    .delete(apiTokens)
    .where(and(eq(apiTokens.id, id), eq(apiTokens.userId, userId)))
    .returning({ id: apiTokens.id })
  if (!gone) throw notFound('API token')
}

/**
 * Always answered 202, and with the same work (one counter, one insert) for every address, so
 * nobody learns whether it is registered: the lookup happens in the mail job. Per client IP at
 * most RESET_REQUEST_IP_LIMIT requests (else 429), per address at most RESET_REQUEST_LIMIT mails
 * an hour (requests over it are answered the same way and queue nothing).
 */
export async function requestPasswordReset(ctx: IdentityContext, email: string, ip: string) {
  await ctx.limiter.consume(`reset-ip:${ip}`, RESET_REQUEST_IP_LIMIT)
  const address = email.toLowerCase()
  const hit = await ctx.limiter.store.increment(`reset:${address}`, RESET_REQUEST_LIMIT.windowMs)
  if (hit.count > RESET_REQUEST_LIMIT.limit) {
    ctx.logger.info('password reset request over the limit; no mail queued')
    return
  }
  await queueMail(ctx.db, { template: 'password_reset', email: address })
}

const invalidToken = () =>
  validationFailed([fieldError('token', 'is invalid, used or expired')], 'Invalid token')

/** The live (unused, unexpired) token of `purpose`, with its user, or a 422. */
async function liveToken(db: Db, token: string, purpose: OneTimePurpose) {
  const [row] = await db
    .select({
      id: oneTimeTokens.id,
      email: oneTimeTokens.email,
      userId: users.id,
      userEmail: users.email,
      username: users.username,
    })
    .from(oneTimeTokens)
    .innerJoin(users, eq(users.id, oneTimeTokens.userId))
    .where(
      and(
        eq(oneTimeTokens.tokenHash, sha256Hex(token)),
        eq(oneTimeTokens.purpose, purpose),
        isNull(oneTimeTokens.usedAt),
        gt(oneTimeTokens.expiresAt, sql`now()`),
      ),
    )
    .limit(1)
  // A token sent to an address the user no longer has is void.
  if (!row || row.email.toLowerCase() !== row.userEmail.toLowerCase()) throw invalidToken()
  return row
}

/** Marks the token used; false when a concurrent request used it first. */
async function consume(db: Db, id: string) {
  const [used] = await db
    .update(oneTimeTokens)
    .set({ usedAt: new Date() })
    .where(and(eq(oneTimeTokens.id, id), isNull(oneTimeTokens.usedAt)))
    .returning({ id: oneTimeTokens.id })
  return Boolean(used)
}

/** Sets a new password from a reset token (single use, 30 min) and ends every session. */
export async function confirmPasswordReset(ctx: IdentityContext, token: string, newPassword: string) {
  const row = await liveToken(ctx.db, token, 'password_reset')
  const problems = passwordProblems(
    newPassword,
    { username: row.username, email: row.userEmail },
    'new_password',
  )
  if (problems.length) throw validationFailed(problems, 'Password does not meet the policy')
  const hash = await ctx.hasher.hash(newPassword)
  if (!(await consume(ctx.db, row.id))) throw invalidToken()
  await setPassword(ctx.db, row.userId, hash, null)
  await ctx.db
    .update(oneTimeTokens)
    .set({ usedAt: new Date() })
    .where(
      and(
        eq(oneTimeTokens.userId, row.userId),
        eq(oneTimeTokens.purpose, 'password_reset'),
        isNull(oneTimeTokens.usedAt),
      ),
    )
}

/** Queues a verification mail to the user's current address (token single use, 24 h). */
export async function requestEmailVerification(ctx: IdentityContext, user: AuthUser) {
  if (user.emailVerified) return
  await queueMail(ctx.db, { template: 'verify_email', user_id: user.id })
}

export async function confirmEmailVerification(ctx: IdentityContext, token: string) {
  const row = await liveToken(ctx.db, token, 'verify_email')
  if (!(await consume(ctx.db, row.id))) throw invalidToken()
  await ctx.db
    .update(users)
    .set({ emailVerified: true, version: sql`${users.version} + 1`, updatedAt: new Date() })
    .where(and(eq(users.id, row.userId), sql`lower(${users.email}) = lower(${row.email})`))
}

/**
 * `POST /auth/email-change/undo`: restores the address the token was sent to, marks it verified
 * (its owner just proved it), ends every session and API token, and voids the other live tokens.
 * 409 when another account took that address meanwhile.
 */
export async function undoEmailChange(ctx: IdentityContext, token: string) {
  try {
    await ctx.db.transaction(async (tx) => {
      const [row] = await tx
        .update(oneTimeTokens)
        .set({ usedAt: new Date() })
        .where(
          and(
            eq(oneTimeTokens.tokenHash, sha256Hex(token)),
            eq(oneTimeTokens.purpose, 'email_change_undo'),
            isNull(oneTimeTokens.usedAt),
            gt(oneTimeTokens.expiresAt, sql`now()`),
          ),
        )
        .returning({ userId: oneTimeTokens.userId, email: oneTimeTokens.email })
      if (!row) throw invalidToken()
      await tx
        .update(users)
        .set({
          email: row.email,
          emailVerified: true,
          version: sql`${users.version} + 1`,
          updatedAt: new Date(),
        })
        .where(eq(users.id, row.userId))
      await endSessions(tx, row.userId)
      await endApiTokens(tx, row.userId)
      await tx
        .update(oneTimeTokens)
        .set({ usedAt: new Date() })
        .where(and(eq(oneTimeTokens.userId, row.userId), isNull(oneTimeTokens.usedAt)))
    })
  } catch (e) {
    if (uniqueViolation(e)) throw conflict('Another account uses that address now; contact an administrator')
    throw e
  }
}

/**
 * `POST /users/me/tokens`: from a login session only (a leaked API token must not mint tokens that
 * outlive its revocation); the secret is in this answer and nowhere else.
 */
export async function createMyToken(
  ctx: Pick<IdentityContext, 'db'>,
  principal: Principal,
  input: { name: string; scope: ApiTokenScope; expires_at?: string | null },
) {
  requireSession(principal, 'API tokens can only be created from a login session')
  const expiresAt = input.expires_at ? futureDate(input.expires_at, 'expires_at') : null
  const token = await createApiToken(ctx.db, principal.user.id, {
    name: input.name,
    scope: input.scope,
    expiresAt,
  })
  return { ...toPublicToken(token), token: token.token }
}

/** `GET /users/me/tokens`. */
export async function listMyTokens(ctx: Pick<IdentityContext, 'db'>, principal: Principal, page: Page) {
  const { items, total } = await listApiTokens(ctx.db, principal.user.id, page)
  return pageOf(items.map(toPublicToken), total, page)
}

/** `GET /users/me/tokens/{id}`. */
export async function getMyToken(ctx: Pick<IdentityContext, 'db'>, principal: Principal, id: string) {
  if (!isUuid(id)) throw notFound('API token')
  return toPublicToken(await getApiToken(ctx.db, principal.user.id, id))
}

/** `DELETE /users/me/tokens/{id}`: refused at once (the next request with it is a 401). */
export async function revokeMyToken(ctx: Pick<IdentityContext, 'db'>, principal: Principal, id: string) {
  if (!isUuid(id)) throw notFound('API token')
  await deleteApiToken(ctx.db, principal.user.id, id)
}
