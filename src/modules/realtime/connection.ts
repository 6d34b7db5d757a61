import type { ServerWebSocket } from 'bun'
import type { Principal } from '../identity'
import type { Hub } from './hub'

/** One project subscription of one socket. `last` is the seq of the last event it was given. */
export interface Subscription {
  conn: Connection
  projectId: string
  last: number
  /** Live events held while the replay runs; null once live. */
  buffer: DeliveredEvent[] | null
  /**
   * Live events reach it through the project's topic (Bun's publish). Until then (the replay read
   * past the feed's cursor) it is given each event one by one, deduplicated by `last`.
   */
  onTopic: boolean
  ended: boolean
}

/** An event as the hub sends it: serialized once for every subscriber. */
export interface DeliveredEvent {
  seq: number
  type: string
  /** The message text, `{"type":"event","event":{...}}`. */
  text: string
  /** member.removed: whose membership ended. */
  memberId?: string
}

/**
 * One WebSocket: Bun hands this object to every handler as `ws.data` (Elysia's dispatcher calls
 * `ws.data.open(ws)`, `ws.data.message(ws, m)`, ...), so the socket's state and its handlers are
 * one allocation.
 */
export class Connection {
  ws: ServerWebSocket<Connection> | null = null
  principal: Principal | null = null
  readonly subs = new Map<string, Subscription>()
  authTimer: ReturnType<typeof setTimeout> | undefined
  /** An `auth` message is being checked: others wait their turn. */
  authenticating = false
  closed = false
  windowStart = 0
  windowCount = 0

  constructor(readonly hub: Hub) {}

  open(ws: ServerWebSocket<Connection>) {
    this.ws = ws
    this.hub.opened(this)
  }

  message(_ws: ServerWebSocket<Connection>, message: string | Buffer) {
    this.hub.received(this, message)
  }

  close() {
    this.hub.closed(this)
  }

  /**
   * Sends a text message, unless what the client left unread of the earlier ones is over the
   * limit: then it is cut off instead. (Checked before sending, so one event larger than the
   * limit still reaches a client that keeps up.)
   */
  send(text: string) {
    const ws = this.ws
    if (!ws || this.closed) return
    if (ws.getBufferedAmount() > this.hub.sendBufferBytes) return this.hub.slowConsumer(this)
    ws.send(text)
  }

  end(code: number, reason: string) {
    if (this.closed) return
    this.closed = true
    this.ws?.close(code, reason)
  }
}
