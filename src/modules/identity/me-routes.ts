import { Elysia, t } from 'elysia'
import type { IdentityDeps } from '../../deps'
import { clientIp } from '../../lib/client-ip'
import { notFound } from '../../lib/errors'
import { etagOf, parseIfMatch } from '../../lib/etag'
import { noStore } from '../../lib/no-store'
import { pageOf, toPage } from '../../lib/pagination'
import { cleanPlugin } from '../../plugins/clean'
import { API_PREFIX_PATH, futureDate, type IdentityContext, isUuid, requireSession } from './context'
import {
  ApiTokenCreated,
  ApiTokenPublic,
  cleanNames,
  IdentityModel,
  IdParams,
  lowerEmail,
  toPublicToken,
  toPublicUser,
  UserPublic,
} from './model'
import { createApiToken, deleteApiToken, getApiToken, listApiTokens } from './tokens-service'
import { changePassword, updateUser, verifyCurrentPassword } from './users-service'

const doc = (summary: string, description?: string) => ({
  tags: ['Users'],
  summary,
  ...(description ? { description } : {}),
})

/** The caller's own profile, password and personal API tokens. */
export const meRoutes = (deps: IdentityDeps, ctx: IdentityContext) =>
  new Elysia({ prefix: '/users/me' })
    .use(deps.auth)
    .use(cleanPlugin)
    .get(
      '',
      ({ principal, set }) => {
        set.headers.etag = etagOf(principal.user.version)
        return toPublicUser(principal.user)
      },
      { auth: true, response: { 200: UserPublic }, detail: doc('My profile') },
    )
    .patch(
      '',
      async ({ principal, body, headers, set, request, server }) => {
        // The email is where password resets go: changing it needs a login session and the
        // current password, and the old address is told, with a link that undoes the change.
        const newEmail = body.email !== undefined && body.email !== principal.user.email
        if (newEmail) {
          requireSession(principal, 'The email address can only be changed from a login session')
          const ip = clientIp(request, server, ctx.settings.TRUST_PROXY)
          await verifyCurrentPassword(ctx, principal.user.id, body.current_password, ip)
        }
        const { user } = await updateUser(
          ctx.db,
          principal.user.id,
          { email: body.email, username: body.username, fullName: body.full_name },
          parseIfMatch(headers['if-match']) ?? undefined,
        )
        set.headers.etag = etagOf(user.version)
        return toPublicUser(user)
      },
      {
        auth: true,
        transform: lowerEmail,
        clean: cleanNames,
        body: IdentityModel.updateMe,
        response: { 200: UserPublic },
        detail: doc(
          'Update my profile',
          'A new email address needs `current_password` (422 without it or when wrong, throttled like login) and a login session (an API token gets 403); it is unverified again, and the previous address gets a mail with a link that undoes the change for 7 days. Duplicate → 409.',
        ),
      },
    )
    .post(
      '/password',
      async ({ principal, body, set, request, server }) => {
        requireSession(principal, 'The password can only be changed from a login session')
        await changePassword(
          ctx,
          principal.user,
          principal.sessionId,
          body.current_password,
          body.new_password,
          clientIp(request, server, ctx.settings.TRUST_PROXY),
        )
        set.status = 204
      },
      {
        auth: true,
        body: IdentityModel.changePassword,
        response: { 204: t.Void() },
        detail: doc(
          'Change my password',
          'Ends every other session. Needs a login session (an API token gets 403).',
        ),
      },
    )
    .post(
      '/tokens',
      async ({ principal, body, set }) => {
        // A leaked API token must not be able to mint more tokens that outlive its revocation.
        requireSession(principal, 'API tokens can only be created from a login session')
        const expiresAt = body.expires_at ? futureDate(body.expires_at, 'expires_at') : null
        const token = await createApiToken(ctx.db, principal.user.id, {
          name: body.name,
          scope: body.scope,
          expiresAt,
        })
        set.status = 201
        set.headers.location = `${API_PREFIX_PATH}/users/me/tokens/${token.id}`
        // the secret is shown once: no cache, and no stored copy for Idempotency-Key replays
        noStore(set)
        return { ...toPublicToken(token), token: token.token }
      },
      {
        auth: true,
        transform: lowerEmail,
        clean: cleanNames,
        body: IdentityModel.createToken,
        response: { 201: ApiTokenCreated },
        detail: doc('Create a personal API token', 'The `tb_...` secret is shown only in this response.'),
      },
    )
    .get(
      '/tokens',
      async ({ principal, query }) => {
        const page = toPage(query)
        const { items, total } = await listApiTokens(ctx.db, principal.user.id, page)
        return pageOf(items.map(toPublicToken), total, page)
      },
      {
        auth: true,
        query: IdentityModel.pageOnly,
        response: { 200: IdentityModel.tokenList },
        detail: doc('List my API tokens (no secrets)', 'Paginated, newest first.'),
      },
    )
    .get(
      '/tokens/:id',
      async ({ principal, params }) => {
        if (!isUuid(params.id)) throw notFound('API token')
        return toPublicToken(await getApiToken(ctx.db, principal.user.id, params.id))
      },
      {
        auth: true,
        params: IdParams,
        response: { 200: ApiTokenPublic },
        detail: doc('One of my API tokens (no secret)'),
      },
    )
    .delete(
      '/tokens/:id',
      async ({ principal, params, set }) => {
        if (!isUuid(params.id)) throw notFound('API token')
        await deleteApiToken(ctx.db, principal.user.id, params.id)
        set.status = 204
      },
      { auth: true, params: IdParams, response: { 204: t.Void() }, detail: doc('Revoke an API token') },
    )
