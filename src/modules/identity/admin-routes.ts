import { Elysia, t } from 'elysia'
import type { IdentityDeps } from '../../deps'
import { toPage } from '../../lib/pagination'
import { created, noContent, withEtag } from '../../lib/responses'
import { cleanPlugin } from '../../plugins/clean'
import {
  adminCreateUser,
  adminDeleteUser,
  adminGetUser,
  adminListUsers,
  adminUpdateUser,
} from './account-service'
import type { IdentityContext } from './context'
import { cleanNames, IdentityModel, IdParams, lowerEmail, UserPublic } from './model'

const doc = (summary: string, description?: string) => ({
  tags: ['Users'],
  summary,
  ...(description ? { description } : {}),
})

/** User administration (global roles admin and superadmin). */
export const adminRoutes = (deps: IdentityDeps, ctx: IdentityContext) =>
  new Elysia({ prefix: '/users' })
    .use(deps.auth)
    .use(cleanPlugin)
    .get('', ({ query }) => adminListUsers(ctx, query, toPage(query)), {
      auth: true,
      role: 'admin',
      query: IdentityModel.listQuery,
      response: { 200: IdentityModel.userList },
      detail: doc(
        'List users',
        '`search` matches email, username and full name; sort by created_at, updated_at, email, username, full_name, role.',
      ),
    })
    .post(
      '',
      async ({ principal, body, set }) => created(set, 'users', await adminCreateUser(ctx, principal, body)),
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
    .get('/:id', async ({ params, set }) => withEtag(set, await adminGetUser(ctx, params.id)), {
      auth: true,
      role: 'admin',
      params: IdParams,
      response: { 200: UserPublic },
      detail: doc('Get a user'),
    })
    .patch(
      '/:id',
      async ({ principal, params, body, headers, set }) =>
        withEtag(set, await adminUpdateUser(ctx, principal, params.id, body, headers['if-match'])),
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
        await adminDeleteUser(ctx, principal, params.id, headers['if-match'])
        return noContent(set)
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
