import { Elysia } from 'elysia'
import type { ModuleDeps } from '../../deps'
import type { ApiLimits } from '../../lib/api-limits'
import { AppError, forbidden, unauthorized, unavailable } from '../../lib/errors'
import { bearer, bearerSecurity, limitSubject } from '../../plugins/auth'
import type { Authenticate } from '../identity'
import type { Hub } from './hub'
import { FRAME_MAX_BYTES } from './protocol'

export { Hub } from './hub'
export { CLOSE } from './protocol'

/** Bun's WebSocket options for the realtime socket (serve passes them to listen). */
export const websocketOptions = (settings: ModuleDeps['settings']) => ({
  maxPayloadLength: FRAME_MAX_BYTES,
  idleTimeout: settings.REALTIME_IDLE_TIMEOUT_SECONDS,
  sendPings: true,
  // our own check (Connection.send) cuts a slow client off first, with close code 4009; Bun's is
  // the hard stop above it, with room for the largest single event (a task whose 50,000-character
  // description changed carries it three times, JSON-escaped)
  backpressureLimit: settings.REALTIME_SEND_BUFFER_BYTES + 16 * 1024 * 1024,
  closeOnBackpressureLimit: true,
  perMessageDeflate: false,
})

/**
 * GET /realtime: the WebSocket upgrade. A bearer header authenticates it at once (a bad one is a
 * 401 before any upgrade); without one the socket has REALTIME_AUTH_TIMEOUT_MS for an `auth`
 * message. The caps are checked, and the place reserved, before the upgrade.
 */
export const realtimeRoutes = (
  { settings, lifecycle }: ModuleDeps,
  hub: Hub,
  authenticate: Authenticate,
  spend?: ApiLimits,
) =>
  new Elysia({ name: 'realtime' }).get(
    '/realtime',
    async ({ request, server, headers }) => {
      const token = bearer(headers)
      const principal = token ? await authenticate(token) : null
      if (token && !principal) throw unauthorized('Invalid, expired or revoked token')
      if (principal && !principal.user.isActive) throw forbidden('This account is deactivated')
      if (headers.upgrade?.toLowerCase() !== 'websocket')
        throw new AppError(
          'upgrade_required',
          'This is a WebSocket endpoint: send Upgrade: websocket',
          undefined,
          {
            upgrade: 'websocket',
          },
        )
      if (lifecycle?.shuttingDown) throw unavailable('Shutting down: connect to another instance')
      // an upgrade spends from the caller's reads budget, as any request does (a 429 when spent)
      if (principal && spend) await spend('reads', limitSubject(principal))
      if (!server) throw new AppError('upgrade_required', 'The WebSocket upgrade failed')
      const conn = hub.admit(server, principal)
      if (typeof conn === 'string')
        throw new AppError(
          'rate_limited',
          conn === 'full'
            ? 'This instance has no room for more connections'
            : 'Too many connections for this user',
          undefined,
          { 'Retry-After': '5' },
        )
      if (!server.upgrade(request, { data: conn })) {
        hub.release(conn)
        throw new AppError('upgrade_required', 'The WebSocket upgrade failed')
      }
      return undefined
    },
    {
      detail: {
        tags: ['Realtime'],
        summary: 'Realtime WebSocket',
        description: `Upgrades to a WebSocket (101). Authenticate with \`Authorization: Bearer\` on the upgrade, or with a first message \`{"type":"auth","token":"..."}\` within ${settings.REALTIME_AUTH_TIMEOUT_MS / 1000} s. Then \`{"type":"subscribe","project_id":"...","since":"<event id>"?}\`. The messages and close codes are listed in the README ("Realtime"); the OpenAPI document cannot describe them.`,
        // the token is optional here: without one, the first message authenticates
        security: [...bearerSecurity, {}],
        responses: {
          101: { description: 'Switching Protocols: the WebSocket is open' },
        },
      },
    },
  )
