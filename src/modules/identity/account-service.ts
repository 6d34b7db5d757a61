import type { UserRole } from '../../db/schema'
import { conflict, forbidden, notFound } from '../../lib/errors'
import { type Page, pageOf } from '../../lib/pagination'
import type { Limit } from '../../lib/rate-limit'
import { type IdentityContext, isUuid, requireSession } from './context'
import { type IdentityModel, toPublicUser } from './model'
import type { AuthUser, Principal } from './principal'
import {
  changePassword,
  createAccount,
  deleteUser,
  getUser,
  listUsers,
  updateUser,
  verifyCurrentPassword,
} from './users-service'

/**
 * The account use cases behind /auth/register, /users/me and /users: each enforces its rules
 * (who may do it, with which credential, how often) and returns the public shape. Routes only
 * pass the validated input, the caller and the client IP.
 */

/** Registrations per client IP: REGISTER_LIMIT_PER_HOUR (10 by default) an hour. */
export const registerLimit = (perHour: number): Limit => ({ limit: perHour, windowMs: 3_600_000 })

type RegisterInput = typeof IdentityModel.register.static
type UpdateMeInput = typeof IdentityModel.updateMe.static
type AdminCreateInput = typeof IdentityModel.adminCreate.static
type AdminUpdateInput = typeof IdentityModel.adminUpdate.static
type AdminListQuery = typeof IdentityModel.listQuery.static

/** `POST /auth/register`: 10 attempts per IP and hour, counted before the (slow) hash. */
export async function register(ctx: IdentityContext, input: RegisterInput, ip: string) {
  await ctx.limiter.consume(`register:${ip}`, registerLimit(ctx.settings.REGISTER_LIMIT_PER_HOUR))
  const user = await createAccount(ctx, {
    email: input.email,
    username: input.username,
    password: input.password,
    fullName: input.full_name,
    welcome: true,
  })
  return toPublicUser(user)
}

/**
 * `PATCH /users/me`. The email is where password resets go: changing it needs a login session and
 * the current password, and the old address is told, with a link that undoes the change.
 */
export async function updateMe(
  ctx: IdentityContext,
  principal: Principal,
  input: UpdateMeInput,
  ifMatch: string | undefined,
  ip: string,
) {
  if (input.email !== undefined && input.email !== principal.user.email) {
    requireSession(principal, 'The email address can only be changed from a login session')
    await verifyCurrentPassword(ctx, principal.user.id, input.current_password, ip)
  }
  const { user } = await updateUser(
    ctx.db,
    principal.user.id,
    { email: input.email, username: input.username, fullName: input.full_name },
    ifMatch,
  )
  return toPublicUser(user)
}

/** `POST /users/me/password`: from a login session only; other sessions and API tokens end. */
export async function changeMyPassword(
  ctx: IdentityContext,
  principal: Principal,
  input: { current_password: string; new_password: string },
  ip: string,
) {
  requireSession(principal, 'The password can only be changed from a login session')
  await changePassword(
    ctx,
    principal.user,
    principal.sessionId,
    input.current_password,
    input.new_password,
    ip,
  )
}

/**
 * The admin rules of API.md: only a superadmin grants admin or superadmin, or touches a
 * superadmin. Nobody demotes or deactivates themselves (that could leave no administrator).
 */
export function assertMayManage(actor: AuthUser, target: AuthUser | null, role?: UserRole) {
  if (actor.role !== 'superadmin') {
    if (target?.role === 'superadmin') throw forbidden('Only a superadmin can change a superadmin')
    if (role && role !== 'user' && role !== target?.role)
      throw forbidden('Only a superadmin can grant the admin or superadmin role')
  }
}

async function target(ctx: IdentityContext, id: string) {
  if (!isUuid(id)) throw notFound('User')
  return getUser(ctx.db, id)
}

/** `GET /users` (admin). */
export async function adminListUsers(ctx: IdentityContext, query: AdminListQuery, page: Page) {
  const { items, total } = await listUsers(ctx.db, query, page)
  return pageOf(items.map(toPublicUser), total, page)
}

/** `GET /users/{id}` (admin). */
export async function adminGetUser(ctx: IdentityContext, id: string) {
  return toPublicUser(await target(ctx, id))
}

/** `POST /users` (admin): an admin creates users, only a superadmin creates admins. */
export async function adminCreateUser(ctx: IdentityContext, principal: Principal, input: AdminCreateInput) {
  assertMayManage(principal.user, null, input.role ?? 'user')
  const user = await createAccount(ctx, {
    email: input.email,
    username: input.username,
    password: input.password,
    fullName: input.full_name,
    role: input.role,
    isActive: input.is_active,
  })
  return toPublicUser(user)
}

/**
 * `PATCH /users/{id}` (admin). The email is where password resets go: a leaked admin token must
 * not redirect anyone's, so changing it needs a login session.
 */
export async function adminUpdateUser(
  ctx: IdentityContext,
  principal: Principal,
  id: string,
  input: AdminUpdateInput,
  ifMatch: string | undefined,
) {
  const current = await target(ctx, id)
  assertMayManage(principal.user, current, input.role)
  if (input.email !== undefined && input.email !== current.email)
    requireSession(principal, 'An email address can only be changed from a login session')
  if (
    current.id === principal.user.id &&
    ((input.role && input.role !== current.role) || input.is_active === false)
  )
    throw conflict('You cannot change your own role or deactivate yourself')
  const { user } = await updateUser(
    ctx.db,
    current.id,
    { email: input.email, fullName: input.full_name, role: input.role, isActive: input.is_active },
    ifMatch,
  )
  return toPublicUser(user)
}

/** `DELETE /users/{id}` (superadmin): never oneself (409). */
export async function adminDeleteUser(
  ctx: IdentityContext,
  principal: Principal,
  id: string,
  ifMatch: string | undefined,
) {
  const user = await target(ctx, id)
  if (user.id === principal.user.id) throw conflict('You cannot delete your own account here')
  await deleteUser(ctx.db, user.id, ifMatch)
}
