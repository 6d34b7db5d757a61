import { Elysia, t } from 'elysia'
import type { IdentityDeps } from '../../deps'
import { clientIp } from '../../lib/client-ip'
import { noStore } from '../../lib/no-store'
import { toPage } from '../../lib/pagination'
import { noContent, withEtag } from '../../lib/responses'
import { cleanPlugin } from '../../plugins/clean'
import { changeMyPassword, updateMe } from './account-service'
import { API_PREFIX_PATH, type IdentityContext } from './context'
import {
  ApiTokenCreated,
  ApiTokenPublic,
  cleanNames,
  IdentityModel,
  IdParams,
  lowerEmail,
  toPublicUser,
  UserPublic,
} from './model'
import { createMyToken, getMyToken, listMyTokens, revokeMyToken } from './tokens-service'

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
    .get('', ({ principal, set }) => withEtag(set, toPublicUser(principal.user)), {
      auth: true,
      response: { 200: UserPublic },
      detail: doc('My profile'),
    })
    .patch(
      '',
      async ({ principal, body, headers, set, request, server }) =>
        withEtag(
          set,
          await updateMe(
            ctx,
            principal,
            body,
            headers['if-match'],
            clientIp(request, server, ctx.settings.trustProxy),
          ),
        ),
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
        await changeMyPassword(ctx, principal, body, clientIp(request, server, ctx.settings.trustProxy))
        return noContent(set)
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
        const token = await createMyToken(ctx, principal, body)
        set.status = 201
        set.headers.location = `${API_PREFIX_PATH}/users/me/tokens/${token.id}`
        // the secret is shown once: no cache, and no stored copy for Idempotency-Key replays
        noStore(set)
        return token
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
    .get('/tokens', ({ principal, query }) => listMyTokens(ctx, principal, toPage(query)), {
      auth: true,
      query: IdentityModel.pageOnly,
      response: { 200: IdentityModel.tokenList },
      detail: doc('List my API tokens (no secrets)', 'Paginated, newest first.'),
    })
    .get('/tokens/:id', ({ principal, params }) => getMyToken(ctx, principal, params.id), {
      auth: true,
      params: IdParams,
      response: { 200: ApiTokenPublic },
      detail: doc('One of my API tokens (no secret)'),
    })
    .delete(
      '/tokens/:id',
      async ({ principal, params, set }) => {
        await revokeMyToken(ctx, principal, params.id)
        return noContent(set)
      },
      { auth: true, params: IdParams, response: { 204: t.Void() }, detail: doc('Revoke an API token') },
    )
