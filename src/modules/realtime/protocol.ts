import { isUuid } from '../../lib/api'

/**
 * The realtime protocol: JSON text messages with a `type` (README, "Realtime"). The OpenAPI
 * document cannot describe them, so this file and the README are their reference.
 */

/** Close codes the server uses; the reason string says which case it was. */
export const CLOSE = {
  /** Server shutting down: reconnect (to another instance) with `since`. */
  goingAway: 1001,
  /** A frame over the hard limit (Bun closes these itself). */
  tooBig: 1009,
  /** No auth in time, an invalid, expired or revoked token, a message before auth. */
  unauthorized: 4001,
  /** The account is deactivated. */
  forbidden: 4003,
  /** The client reads slower than events arrive: its send buffer is full. */
  slowConsumer: 4009,
  /** Too many connections: for this user, or for this instance. */
  tooManyConnections: 4029,
} as const

/** Largest client message handled; larger ones get an error message (above FRAME_MAX_BYTES, a close). */
export const MESSAGE_MAX_BYTES = 8 * 1024
/** Bun's own frame limit (maxPayloadLength): beyond it the socket is closed with 1009. */
export const FRAME_MAX_BYTES = 64 * 1024
/** Client messages handled per connection per second; more get `rate_limited`. */
export const MESSAGES_PER_SECOND = 50

export type ClientMessage =
  | { type: 'auth'; token: string }
  | { type: 'subscribe'; project_id: string; since?: string }
  | { type: 'unsubscribe'; project_id: string }
  | { type: 'ping' }

export type ErrorCode =
  | 'bad_message'
  | 'message_too_large'
  | 'rate_limited'
  | 'not_found'
  | 'too_many_subscriptions'
  | 'unavailable'

export type Parsed = { ok: true; message: ClientMessage } | { ok: false; code: ErrorCode; message: string }

const isId = (v: unknown): v is string => typeof v === 'string' && isUuid(v)

const bad = (message: string): Parsed => ({ ok: false, code: 'bad_message', message })

/** Parses and checks one client message; never throws. Linear in its size, done before any I/O. */
export function parseClientMessage(raw: string | Buffer): Parsed {
  if (typeof raw !== 'string') return bad('messages are JSON text, not binary')
  if (raw.length > MESSAGE_MAX_BYTES)
    return {
      ok: false,
      code: 'message_too_large',
      message: `messages are at most ${MESSAGE_MAX_BYTES} bytes`,
    }
  let m: unknown
  try {
    m = JSON.parse(raw)
  } catch {
    return bad('not JSON')
  }
  if (!m || typeof m !== 'object' || Array.isArray(m)) return bad('a message is a JSON object with a type')
  const o = m as Record<string, unknown>
  switch (o.type) {
    case 'auth':
      return typeof o.token === 'string' && o.token.length > 0
        ? { ok: true, message: { type: 'auth', token: o.token } }
        : bad('auth needs a token')
    case 'subscribe': {
      if (!isId(o.project_id)) return bad('subscribe needs a project_id (a UUID)')
      if (o.since !== undefined && !isId(o.since)) return bad('since is the id (a UUID) of an event')
      const message: ClientMessage = { type: 'subscribe', project_id: o.project_id }
      if (o.since !== undefined) message.since = o.since as string
      return { ok: true, message }
    }
    case 'unsubscribe':
      return isId(o.project_id)
        ? { ok: true, message: { type: 'unsubscribe', project_id: o.project_id } }
        : bad('unsubscribe needs a project_id (a UUID)')
    case 'ping':
      return { ok: true, message: { type: 'ping' } }
    default:
      return bad('type is one of auth, subscribe, unsubscribe, ping')
  }
}

export const errorMessage = (code: ErrorCode, message: string, projectId?: string) =>
  JSON.stringify(
    projectId ? { type: 'error', code, message, project_id: projectId } : { type: 'error', code, message },
  )
