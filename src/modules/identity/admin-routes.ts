import { Elysia, t } from 'elysia'
import type { UserRole } from '../../db/schema'
import type { IdentityDeps } from '../../deps'
import { conflict, forbidden, notFound } from '../../lib/errors'
import { etagOf, parseIfMatch } from '../../lib/etag'
import { pageOf, toPage } from '../../lib/pagination'
import { cleanPlugin } from '../../plugins/clean'
import { API_PREFIX_PATH, type IdentityContext, isUuid, requireSession } from './context'
import { cleanNames, IdentityModel, IdParams, lowerEmail, toPublicUser, UserPublic } from './model'
import type { AuthUser } from './principal'
import { createAccount, deleteUser, getUser, listUsers, updateUser } from './users-service'

const doc = (summary: string, description?: string) => ({
  tags: ['Users'],
  summary,
  ...(description ? { description } : {}),
})

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

/** User administration (global roles admin and superadmin). */
export const adminRoutes = (deps: IdentityDeps, ctx: IdentityContext) =>
  new Elysia({ prefix: '/users' })
    .use(deps.auth)
    .use(cleanPlugin)
    .get(
      '',
      async ({ query }) => {
        const page = toPage(query)
        const { items, total } = await listUsers(ctx.db, query, page)
        return pageOf(items.map(toPublicUser), total, page)
      },
      {
        auth: true,
        role: 'admin',
        query: IdentityModel.listQuery,
        response: { 200: IdentityModel.userList },
        detail: doc(
          'List users',
          '`search` matches email, username and full name; sort by created_at, updated_at, email, username, full_name, role.',
        ),
      },
    )
    .post(
      '',
      async ({ principal, body, set }) => {
        assertMayManage(principal.user, null, body.role ?? 'user')
        const user = await createAccount(ctx, {
          email: body.email,
          username: body.username,
          password: body.password,
          fullName: body.full_name,
          role: body.role,
          isActive: body.is_active,
        })
        set.status = 201
        set.headers.location = `${API_PREFIX_PATH}/users/${user.id}`
        set.headers.etag = etagOf(user.version)
        return toPublicUser(user)
      },
      {
        auth: true,
        role: 'admin',
        transform: lowerEmail,
        clean: cleanNames,
        body: IdentityModel.adminCreate,
        response: { 201: UserPublic },
        detail: doc('Create a user', 'An admin may create users; only a superadmin creates admins.'),
      },
    )
    .get(
      '/:id',
      async ({ params, set }) => {
        const user = await target(ctx, params.id)
        set.headers.etag = etagOf(user.version)
        return toPublicUser(user)
      },
      {
        auth: true,
        role: 'admin',
        params: IdParams,
        response: { 200: UserPublic },
        detail: doc('Get a user'),
      },
    )
    .patch(
      '/:id',
      async ({ principal, params, body, headers, set }) => {
        const current = await target(ctx, params.id)
        assertMayManage(principal.user, current, body.role)
        // the email is where password resets go: a leaked admin token must not redirect anyone's
        if (body.email !== undefined && body.email !== current.email)
          requireSession(principal, 'An email address can only be changed from a login session')
        if (
          current.id === principal.user.id &&
          ((body.role && body.role !== current.role) || body.is_active === false)
        )
          throw conflict('You cannot change your own role or deactivate yourself')
        const { user } = await updateUser(
          ctx.db,
          current.id,
          { email: body.email, fullName: body.full_name, role: body.role, isActive: body.is_active },
          parseIfMatch(headers['if-match']) ?? undefined,
        )
        set.headers.etag = etagOf(user.version)
        return toPublicUser(user)
      },
      {
        auth: true,
        role: 'admin',
        params: IdParams,
        transform: lowerEmail,
        clean: cleanNames,
        body: IdentityModel.adminUpdate,
        response: { 200: UserPublic },
        detail: doc(
          'Update a user',
          'An admin cannot change a superadmin nor grant admin/superadmin. Deactivating ends all sessions. Changing the email needs a login session (an API token gets 403).',
        ),
      },
    )
    .delete(
      '/:id',
      async ({ principal, params, headers, set }) => {
        const user = await target(ctx, params.id)
        if (user.id === principal.user.id) throw conflict('You cannot delete your own account here')
        await deleteUser(ctx.db, user.id, parseIfMatch(headers['if-match']) ?? undefined)
        set.status = 204
      },
      {
        auth: true,
        role: 'superadmin',
        params: IdParams,
        response: { 204: t.Void() },
        detail: doc(
          'Delete a user',
          'Superadmin only. 409 while the user owns projects that other people are members of: transfer them first.',
        ),
      },
    )
