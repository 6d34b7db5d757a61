import { and, asc, count, desc, eq, ilike, isNull, ne, or, type SQL, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { apiTokens, projectMembers, projects, sessions, type UserRole, users } from '../../db/schema'
import { conflict, fieldError, notFound, validationFailed } from '../../lib/errors'
import { checkIfMatch } from '../../lib/etag'
import { type Page, parseSort } from '../../lib/pagination'
import { uniqueViolation } from '../../lib/pg-errors'
import { likePattern } from '../../lib/sql'
import type { IdentityContext } from './context'
import { queueMail } from './mail-jobs'
import { USER_SORT } from './model'
import { passwordProblems } from './password'
import { type AuthUser, userColumns } from './principal'
import { throttledCheck } from './sessions-service'

export interface NewAccount {
  email: string
  username: string
  password: string
  fullName?: string
  role?: UserRole
  isActive?: boolean
  /** Queue the welcome mail (self-registration), in the same transaction as the user. */
  welcome?: boolean
}

function duplicate(constraint: string) {
  if (constraint.includes('username'))
    return conflict('That username is already taken', [fieldError('username', 'is already taken')])
  return conflict('An account with that email already exists', [fieldError('email', 'is already registered')])
}

/** 409 when another user already has this email or username (case-insensitively). */
async function assertFree(db: Db, fields: { email?: string; username?: string }, exceptId?: string) {
  const conds: SQL[] = []
  if (fields.email) conds.push(sql`lower(${users.email}) = lower(${fields.email})`)
  if (fields.username) conds.push(sql`lower(${users.username}) = lower(${fields.username})`)
  if (!conds.length) return
  const rows = await db
    .select({ email: users.email, username: users.username })
    .from(users)
    .where(and(or(...conds), exceptId ? ne(users.id, exceptId) : undefined))
    .limit(2)
  for (const r of rows) {
    if (fields.email && r.email.toLowerCase() === fields.email.toLowerCase()) throw duplicate('email')
    if (fields.username && r.username.toLowerCase() === fields.username.toLowerCase())
      throw duplicate('username')
  }
}

/**
 * Creates a user. The password is hashed before any write and outside any transaction; the
 * unique indexes on lower(email) / lower(username) settle races (a violation is a 409, not a 500).
 */
export async function createAccount(ctx: Pick<IdentityContext, 'db' | 'hasher'>, input: NewAccount) {
  const problems = passwordProblems(input.password, input)
  if (problems.length) throw validationFailed(problems, 'Password does not meet the policy')
  await assertFree(ctx.db, input)
  const passwordHash = await ctx.hasher.hash(input.password)
  try {
    return await ctx.db.transaction(async (tx) => {
      const [user] = await tx
        .insert(users)
        .values({
          email: input.email.toLowerCase(),
          username: input.username,
          fullName: input.fullName ?? '',
          passwordHash,
          role: input.role ?? 'user',
          isActive: input.isActive ?? true,
        })
        .returning(userColumns)
      if (input.welcome) await queueMail(tx, { template: 'welcome', user_id: user!.id })
      return user!
    })
  } catch (e) {
    const constraint = uniqueViolation(e)
    if (constraint) throw duplicate(constraint)
    throw e
  }
}

export async function getUser(db: Db, id: string): Promise<AuthUser> {
  const [user] = await db.select(userColumns).from(users).where(eq(users.id, id)).limit(1)
  if (!user) throw notFound('User')
  return user
}

export interface UserPatch {
  email?: string
  username?: string
  fullName?: string
  role?: UserRole
  isActive?: boolean
}

/**
 * Applies a patch (+1 version, new updated_at). A changed email is unverified again. The row is
 * read under a lock in the write's transaction, so concurrent patches without If-Match all apply
 * (last write wins); with an If-Match header the stored version must match it → else 412.
 * Deactivation ends every session of the user, and a new email queues a notice to the old
 * address, in the same transaction. Returns the user after the change and the email it had before.
 */
export async function updateUser(db: Db, id: string, patch: UserPatch, ifMatch?: string) {
  try {
    return await db.transaction(async (tx) => {
      const [current] = await tx.select(userColumns).from(users).where(eq(users.id, id)).for('update')
      if (!current) throw notFound('User')
      checkIfMatch(ifMatch, current.version)
      const set: Partial<typeof users.$inferInsert> = {}
      if (patch.email !== undefined && patch.email !== current.email) {
        set.email = patch.email.toLowerCase()
        set.emailVerified = false
      }
      if (patch.username !== undefined && patch.username !== current.username) set.username = patch.username
      if (patch.fullName !== undefined && patch.fullName !== current.fullName) set.fullName = patch.fullName
      if (patch.role !== undefined && patch.role !== current.role) set.role = patch.role
      if (patch.isActive !== undefined && patch.isActive !== current.isActive) set.isActive = patch.isActive
      if (!Object.keys(set).length) return { user: current, previousEmail: current.email }
      await assertFree(tx, { email: set.email, username: set.username }, id)
      const [user] = await tx
        .update(users)
        .set({ ...set, version: sql`${users.version} + 1`, updatedAt: new Date() })
        .where(eq(users.id, id))
        .returning(userColumns)
      if (set.isActive === false) await endSessions(tx, id)
      // the address being replaced is told, with a link that undoes the change
      if (set.email)
        await queueMail(tx, { template: 'email_changed', user_id: id, previous_email: current.email })
      return { user: user!, previousEmail: current.email }
    })
  } catch (e) {
    const constraint = uniqueViolation(e)
    if (constraint) throw duplicate(constraint)
    throw e
  }
}

/** Ends the user's live sessions (all, or all but `exceptSessionId`): their tokens stop at once. */
export async function endSessions(db: Db, userId: string, exceptSessionId?: string | null) {
  await db
    .update(sessions)
    .set({ revokedAt: new Date() })
    .where(
      and(
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        exceptSessionId ? ne(sessions.id, exceptSessionId) : undefined,
      ),
    )
}

/**
 * Ends the user's personal API tokens (logout-all, password change and reset: account recovery
 * must evict whoever minted one). Tokens are checked on every request, so they fail at once.
 */
export async function endApiTokens(db: Db, userId: string) {
  await db.delete(apiTokens).where(eq(apiTokens.userId, userId))
}

/**
 * Replaces the password hash (computed by the caller, outside any transaction), ends the other
 * sessions and every API token.
 */
export async function setPassword(
  db: Db,
  userId: string,
  passwordHash: string,
  keepSessionId?: string | null,
) {
  await db.transaction(async (tx) => {
    await tx
      .update(users)
      .set({ passwordHash, version: sql`${users.version} + 1`, updatedAt: new Date() })
      .where(eq(users.id, userId))
    await endSessions(tx, userId, keepSessionId)
    await endApiTokens(tx, userId)
  })
}

export async function passwordHashOf(db: Db, userId: string): Promise<string | null> {
  const [row] = await db.select({ h: users.passwordHash }).from(users).where(eq(users.id, userId))
  return row?.h ?? null
}

/**
 * Re-authentication for account changes (password, email): `password` must be the user's current
 * one, else a 422 on `field`. Throttled like login (per account, reserved before the hash).
 */
export async function verifyCurrentPassword(
  ctx: Pick<IdentityContext, 'db' | 'hasher' | 'limiter' | 'inFlight'>,
  userId: string,
  password: string | undefined,
  ip: string,
  field = 'current_password',
) {
  if (password === undefined || password === '')
    throw validationFailed(
      [fieldError(field, 'is required to make this change')],
      'Current password is required',
    )
  const hash = await passwordHashOf(ctx.db, userId)
  const ok = await throttledCheck(ctx, 'password', ip, userId, () => ctx.hasher.verify(password, hash))
  if (!ok) throw validationFailed([fieldError(field, 'is incorrect')], 'Current password is incorrect')
}

/** `POST /users/me/password`: the current password must match; other sessions and API tokens end. */
export async function changePassword(
  ctx: Pick<IdentityContext, 'db' | 'hasher' | 'limiter' | 'inFlight'>,
  user: AuthUser,
  currentSessionId: string | null,
  currentPassword: string,
  newPassword: string,
  ip: string,
) {
  await verifyCurrentPassword(ctx, user.id, currentPassword, ip)
  const problems = passwordProblems(newPassword, user, 'new_password')
  if (problems.length) throw validationFailed(problems, 'Password does not meet the policy')
  await setPassword(ctx.db, user.id, await ctx.hasher.hash(newPassword), currentSessionId)
}

const SORT_COLUMNS = {
  created_at: users.createdAt,
  updated_at: users.updatedAt,
  email: users.email,
  username: users.username,
  full_name: users.fullName,
  role: users.role,
}

export async function listUsers(
  db: Db,
  q: { search?: string; role?: UserRole; is_active?: boolean; sort?: string },
  page: Page,
) {
  const sort = parseSort(q.sort, USER_SORT)
  const term = q.search?.trim()
  const pattern = term ? likePattern(term) : undefined
  const where = and(
    pattern
      ? or(ilike(users.email, pattern), ilike(users.username, pattern), ilike(users.fullName, pattern))
      : undefined,
    q.role ? eq(users.role, q.role) : undefined,
    q.is_active !== undefined ? eq(users.isActive, q.is_active) : undefined,
  )
  const order = [
    ...sort.map((k) => (k.desc ? desc(SORT_COLUMNS[k.field]) : asc(SORT_COLUMNS[k.field]))),
    asc(users.id),
  ]
  const [items, [total]] = await Promise.all([
    db
      .select(userColumns)
      .from(users)
      .where(where)
      .orderBy(...order)
      .limit(page.pageSize)
      .offset(page.offset),
    db.select({ n: count() }).from(users).where(where),
  ])
  return { items, total: total?.n ?? 0 }
}

/**
 * Deletes a user and everything they alone own. Refused (409) while they own a live project that
 * other people are members of: those projects must be transferred (or deleted) first, so nobody
 * loses work they share. The owned projects are locked while this is checked.
 */
export async function deleteUser(db: Db, id: string, ifMatch?: string) {
  await db.transaction(async (tx) => {
    const [current] = await tx.select(userColumns).from(users).where(eq(users.id, id)).for('update')
    if (!current) throw notFound('User')
    checkIfMatch(ifMatch, current.version)
    await tx.select({ id: projects.id }).from(projects).where(eq(projects.ownerId, id)).for('update')
    const shared = await tx
      .select({ name: projects.name })
      .from(projects)
      .where(
        and(
          eq(projects.ownerId, id),
          isNull(projects.deletedAt),
          sql`exists (select 1 from ${projectMembers} where ${projectMembers.projectId} = ${projects.id} and ${projectMembers.userId} <> ${id})`,
        ),
      )
      .orderBy(asc(projects.name))
      .limit(6)
    if (shared.length)
      throw conflict(
        `The user owns ${shared.length > 5 ? 'more than 5' : shared.length} project(s) shared with other members (${shared
          .slice(0, 5)
          .map((p) => JSON.stringify(p.name))
          .join(', ')}); transfer or delete them first`,
      )
    await tx.delete(users).where(eq(users.id, id))
  })
}
