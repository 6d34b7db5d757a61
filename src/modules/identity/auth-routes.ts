import { Elysia, t } from 'elysia'
import type { IdentityDeps } from '../../deps'
import { clientIp } from '../../lib/client-ip'
import { badRequest } from '../../lib/errors'
import { noStore } from '../../lib/no-store'
import { toPage } from '../../lib/pagination'
import { noContent, withEtag } from '../../lib/responses'
import { cleanPlugin } from '../../plugins/clean'
import { register } from './account-service'
import { API_PREFIX_PATH, type IdentityContext } from './context'
import { Accepted, cleanNames, IdentityModel, IdParams, lowerEmail, TokenPair, UserPublic } from './model'
import { endMySession, listMySessions, login, logout, logoutAll, refresh } from './sessions-service'
import {
  confirmEmailVerification,
  confirmPasswordReset,
  requestEmailVerification,
  requestPasswordReset,
  undoEmailChange,
} from './tokens-service'

const doc = (summary: string, description?: string) => ({
  tags: ['Auth'],
  summary,
  ...(description ? { description } : {}),
})

/** Registration, login, token refresh, logout, sessions, password reset and email verification. */
export const authRoutes = (deps: IdentityDeps, ctx: IdentityContext) =>
  new Elysia({ prefix: '/auth' })
    .use(deps.auth)
    .use(cleanPlugin)
    .post(
      '/register',
      async ({ body, request, server, set }) => {
        const user = await register(ctx, body, clientIp(request, server, ctx.settings.trustProxy))
        set.status = 201
        // the new user reads their account at /users/me (once logged in); /users/{id} is admin-only
        set.headers.location = `${API_PREFIX_PATH}/users/me`
        return withEtag(set, user)
      },
      {
        transform: lowerEmail,
        clean: cleanNames,
        body: IdentityModel.register,
        response: { 201: UserPublic },
        detail: doc(
          'Create an account',
          'Queues a welcome email. At most 10 registrations per hour per client IP.',
        ),
      },
    )
    .post(
      '/login',
      ({ body, request, server, set }) => {
        noStore(set)
        // RFC 6749 §5.2: only the password grant is served here
        if (body.grant_type && body.grant_type !== 'password')
          throw badRequest('Only grant_type=password is supported', 'unsupported_grant_type')
        return login(ctx, {
          login: body.username,
          password: body.password,
          ip: clientIp(request, server, ctx.settings.trustProxy),
          userAgent: request.headers.get('user-agent'),
        })
      },
      {
        body: IdentityModel.login,
        response: { 200: TokenPair },
        detail: doc(
          'Log in (OAuth2 password grant)',
          'Form (application/x-www-form-urlencoded) or JSON: `username` (username or email) and `password`; `grant_type`, when sent, must be `password` (else 400 `unsupported_grant_type`). 5 failures per minute per IP and account, 20 per IP → 429.',
        ),
      },
    )
    .post(
      '/refresh',
      ({ body, set }) => {
        noStore(set)
        return refresh(ctx, body.refresh_token)
      },
      {
        body: IdentityModel.refresh,
        response: { 200: TokenPair },
        detail: doc('Rotate a refresh token', 'Each refresh token works once; reusing one ends the session.'),
      },
    )
    .post(
      '/logout',
      async ({ principal, set }) => {
        await logout(ctx, principal)
        return noContent(set)
      },
      { auth: true, response: { 204: t.Void() }, detail: doc('End the current session') },
    )
    .post(
      '/logout-all',
      async ({ principal, set }) => {
        await logoutAll(ctx, principal)
        return noContent(set)
      },
      {
        auth: true,
        response: { 204: t.Void() },
        detail: doc(
          'End every session of mine',
          'Also deletes every personal API token. Needs a login session: an API token gets 403.',
        ),
      },
    )
    .get('/sessions', ({ principal, query }) => listMySessions(ctx, principal, toPage(query)), {
      auth: true,
      query: IdentityModel.pageOnly,
      response: { 200: IdentityModel.sessionList },
      detail: doc('List my live sessions', 'Paginated, most recently used first.'),
    })
    .delete(
      '/sessions/:id',
      async ({ principal, params, set }) => {
        await endMySession(ctx, principal, params.id)
        return noContent(set)
      },
      { auth: true, params: IdParams, response: { 204: t.Void() }, detail: doc('End one of my sessions') },
    )
    .post(
      '/password-reset/request',
      async ({ body, set, request, server }) => {
        // the same work for every address (a counter and an insert): the lookup is in the mail job
        await requestPasswordReset(ctx, body.email, clientIp(request, server, ctx.settings.trustProxy))
        set.status = 202
        return { status: 'accepted' as const }
      },
      {
        transform: lowerEmail,
        clean: cleanNames,
        body: IdentityModel.resetRequest,
        response: { 202: Accepted },
        detail: doc(
          'Request a password reset email',
          '202 whether or not the address is registered. At most 3 emails per address and hour; further requests get 202 and send nothing.',
        ),
      },
    )
    .post(
      '/password-reset/confirm',
      async ({ body, set }) => {
        await confirmPasswordReset(ctx, body.token, body.new_password)
        set.status = 204
      },
      {
        body: IdentityModel.resetConfirm,
        response: { 204: t.Void() },
        detail: doc('Set a new password with a reset token', 'Single use, 30 minutes; ends every session.'),
      },
    )
    .post(
      '/verify-email/request',
      async ({ principal, set }) => {
        await requestEmailVerification(ctx, principal.user)
        set.status = 202
        return { status: 'accepted' as const }
      },
      { auth: true, response: { 202: Accepted }, detail: doc('Email me a verification link (24 h)') },
    )
    .post(
      '/email-change/undo',
      async ({ body, set }) => {
        await undoEmailChange(ctx, body.token)
        set.status = 204
      },
      {
        body: IdentityModel.undoEmailChange,
        response: { 204: t.Void() },
        detail: doc(
          'Undo an email change',
          'With the token mailed to the previous address (single use, 7 days): restores that address, ends every session and deletes every API token. 409 when another account took the address meanwhile.',
        ),
      },
    )
    .post(
      '/verify-email/confirm',
      async ({ body, set }) => {
        await confirmEmailVerification(ctx, body.token)
        set.status = 204
      },
      {
        body: IdentityModel.verifyConfirm,
        response: { 204: t.Void() },
        detail: doc('Confirm my email address'),
      },
    )
