import type { Server } from 'bun'
import type { Settings } from '../../config'
import type { Database } from '../../db/client'
import { toPublicEvent } from '../../events/model'
import { EVENTS_CHANNEL, PROJECT_EVENT_TYPES } from '../../events/record'
import type { ApiLimits } from '../../lib/api-limits'
import { AppError } from '../../lib/errors'
import type { Logger } from '../../lib/logger'
import { limitSubject } from '../../plugins/auth'
import type { Authenticate, Principal } from '../identity'
import { Connection, type DeliveredEvent, type Subscription } from './connection'
import { CLOSE, errorMessage, MESSAGES_PER_SECOND, parseClientMessage } from './protocol'
import { type EventRow, eventsAfter, liveCredentials, sinceLookup, subscriptionHead } from './queries'

/** Events read per query, by the live pump and by a replay. */
const BATCH = 500
/** Safety net behind NOTIFY (a dropped LISTEN connection): every feed is re-read this often. */
const POLL_MS = 5_000

/** The live stream of one project on this instance: its subscribers and how far they were given it. */
interface Feed {
  cursor: number
  subs: Set<Subscription>
  running: boolean
  again: boolean
}

export interface HubOptions {
  database: Database
  settings: Settings
  logger: Logger
  authenticate: Authenticate
  /** The per-caller limit: an `auth` message spends from the reads budget, as an upgrade does. */
  spend?: ApiLimits
}

/**
 * Realtime on one instance. Every event is written with its project's row lock held to commit
 * (src/events/record.ts), so within a project `seq` order is commit order; each feed keeps a
 * cursor and reads `seq > cursor` when a NOTIFY (any instance's commit) or the safety poll wakes
 * it. A subscription registers first, buffering live events, then replays from its start out of
 * the table, then flushes the buffer; the per-subscription `last` seq drops what both gave.
 */
export class Hub {
  readonly sendBufferBytes: number
  private readonly db
  private readonly conns = new Set<Connection>()
  private readonly perUser = new Map<string, number>()
  private readonly feeds = new Map<string, Feed>()
  private listening: Promise<(() => Promise<void>) | null> | null = null
  private timer: ReturnType<typeof setInterval> | undefined
  private lastPoll = 0
  /** Bun's server, for `publish` (C++ fan-out to a project's live subscribers); set at the first upgrade. */
  private server: Pick<Server<Connection>, 'publish'> | null = null
  private checking = false
  private stopped = false

  constructor(private readonly o: HubOptions) {
    this.db = o.database.db
    this.sendBufferBytes = o.settings.REALTIME_SEND_BUFFER_BYTES
  }

  /** Open sockets on this instance (the metrics gauge). */
  get connections() {
    return this.conns.size
  }

  /**
   * Admits a new socket before the upgrade, reserving its place under the caps (so concurrent
   * upgrades cannot pass them): the Connection to upgrade with, or why not.
   */
  admit(
    server: Pick<Server<Connection>, 'publish'>,
    principal: Principal | null,
  ): Connection | 'full' | 'user_full' {
    this.server ??= server
    if (this.stopped || this.conns.size >= this.o.settings.REALTIME_MAX_CONNECTIONS) return 'full'
    const conn = new Connection(this)
    if (principal && !this.setPrincipal(conn, principal)) return 'user_full'
    this.conns.add(conn)
    return conn
  }

  /** The upgrade did not happen: give the reserved places back. */
  release(conn: Connection) {
    this.closed(conn)
  }

  opened(conn: Connection) {
    if (this.stopped) return conn.end(CLOSE.goingAway, 'server shutting down')
    this.ensureTimer()
    if (conn.principal) return conn.send(this.authenticated(conn))
    conn.authTimer = setTimeout(() => {
      if (!conn.principal) conn.end(CLOSE.unauthorized, 'no auth message in time')
    }, this.o.settings.REALTIME_AUTH_TIMEOUT_MS)
  }

  closed(conn: Connection) {
    if (!this.conns.delete(conn)) return
    conn.closed = true
    clearTimeout(conn.authTimer)
    for (const sub of conn.subs.values()) this.endSub(sub)
    const user = conn.principal?.user.id
    if (user) {
      const n = (this.perUser.get(user) ?? 1) - 1
      if (n > 0) this.perUser.set(user, n)
      else this.perUser.delete(user)
    }
  }

  slowConsumer(conn: Connection) {
    this.o.logger.warn('realtime client too slow: disconnected', { user_id: conn.principal?.user.id })
    conn.end(CLOSE.slowConsumer, 'send buffer full: the client reads too slowly')
  }

  received(conn: Connection, raw: string | Buffer) {
    if (conn.closed) return
    const now = Date.now()
    if (now - conn.windowStart >= 1000) {
      conn.windowStart = now
      conn.windowCount = 0
    }
    if (++conn.windowCount > MESSAGES_PER_SECOND)
      return conn.send(errorMessage('rate_limited', `at most ${MESSAGES_PER_SECOND} messages a second`))
    const parsed = parseClientMessage(raw)
    if (!parsed.ok) return conn.send(errorMessage(parsed.code, parsed.message))
    const m = parsed.message
    if (m.type === 'auth') return void this.auth(conn, m.token)
    if (!conn.principal) return conn.end(CLOSE.unauthorized, 'authenticate first')
    if (m.type === 'ping') return conn.send('{"type":"pong"}')
    if (m.type === 'unsubscribe') {
      const sub = conn.subs.get(m.project_id)
      if (sub) this.endSub(sub)
      return conn.send(
        JSON.stringify({ type: 'unsubscribed', project_id: m.project_id, reason: 'requested' }),
      )
    }
    void this.subscribe(conn, m.project_id, m.since).catch((err) => {
      this.o.logger.error('realtime subscribe failed', { err: String(err) })
      const sub = conn.subs.get(m.project_id)
      if (sub) this.endSub(sub)
      conn.send(errorMessage('unavailable', 'could not subscribe, try again', m.project_id))
    })
  }

  private authenticated(conn: Connection) {
    return JSON.stringify({ type: 'authenticated', user_id: conn.principal?.user.id })
  }

  /** Counts the socket against its user's cap; false when the user is at it. */
  private setPrincipal(conn: Connection, principal: Principal) {
    const user = principal.user.id
    const n = this.perUser.get(user) ?? 0
    if (n >= this.o.settings.REALTIME_MAX_CONNECTIONS_PER_USER) return false
    this.perUser.set(user, n + 1)
    conn.principal = principal
    return true
  }

  /** The first `auth` message, or a later one with a fresh token of the same user. */
  private async auth(conn: Connection, token: string) {
    if (conn.authenticating)
      return conn.send(errorMessage('rate_limited', 'an auth message is being checked'))
    conn.authenticating = true
    let principal: Principal | null
    try {
      principal = await this.o.authenticate(token)
    } catch (err) {
      this.o.logger.error('realtime auth failed', { err: String(err) })
      principal = null
    } finally {
      conn.authenticating = false
    }
    if (conn.closed) return
    if (!principal) return conn.end(CLOSE.unauthorized, 'invalid, expired or revoked token')
    if (!principal.user.isActive) return conn.end(CLOSE.forbidden, 'this account is deactivated')
    if (!(await this.withinLimit(principal)) || conn.closed)
      return conn.end(
        CLOSE.tooManyConnections,
        'rate limited: too many connections or auth messages a minute',
      )
    if (conn.principal) {
      if (conn.principal.user.id !== principal.user.id)
        return conn.send(errorMessage('bad_message', 'a socket stays with the user it authenticated as'))
      conn.principal = principal
      return conn.send(this.authenticated(conn))
    }
    clearTimeout(conn.authTimer)
    if (!this.setPrincipal(conn, principal))
      return conn.end(CLOSE.tooManyConnections, 'too many connections for this user')
    conn.send(this.authenticated(conn))
  }

  /** False when the caller's reads budget is spent (a failing store lets it pass, logged). */
  private async withinLimit(principal: Principal) {
    if (!this.o.spend) return true
    try {
      await this.o.spend('reads', limitSubject(principal))
      return true
    } catch (err) {
      if (err instanceof AppError && err.code === 'rate_limited') return false
      this.o.logger.error('realtime rate limit failed', { err: String(err) })
      return true
    }
  }

  private async subscribe(conn: Connection, projectId: string, since: string | undefined) {
    const userId = conn.principal!.user.id
    if (conn.subs.has(projectId))
      return conn.send(JSON.stringify({ type: 'subscribed', project_id: projectId }))
    if (conn.subs.size >= this.o.settings.REALTIME_MAX_SUBSCRIPTIONS)
      return conn.send(
        errorMessage(
          'too_many_subscriptions',
          `at most ${this.o.settings.REALTIME_MAX_SUBSCRIPTIONS} subscriptions per connection`,
          projectId,
        ),
      )
    // the place is taken before the queries, so concurrent subscribes cannot pass the cap
    const sub: Subscription = { conn, projectId, last: 0, buffer: [], onTopic: false, ended: false }
    conn.subs.set(projectId, sub)
    const head = await subscriptionHead(this.db, projectId, userId)
    if (sub.ended) return
    if (head === null) {
      conn.subs.delete(projectId)
      sub.ended = true
      return conn.send(errorMessage('not_found', 'Project not found', projectId))
    }
    let start = head
    let resync = false
    if (since !== undefined) {
      const found = await sinceLookup(this.db, projectId, since, this.o.settings.REALTIME_REPLAY_MAX)
      if (sub.ended) return
      if (found && found.seq <= head && found.missed <= this.o.settings.REALTIME_REPLAY_MAX) start = found.seq
      else resync = true
    }
    // from here live events reach sub.buffer; the replay reads everything committed after `start`
    let feed = this.feeds.get(projectId)
    const created = !feed
    if (!feed) {
      feed = { cursor: head, subs: new Set(), running: false, again: false }
      this.feeds.set(projectId, feed)
      this.listen()
    }
    sub.last = start
    feed.subs.add(sub)
    conn.send(JSON.stringify({ type: 'subscribed', project_id: projectId }))
    if (resync)
      conn.send(
        JSON.stringify({
          type: 'resync_required',
          project_id: projectId,
          message:
            'since is not in the retained history (or too far back): reload over HTTP; live events follow',
        }),
      )
    if (created) this.pump(projectId)
    if (start < feed.cursor) await this.replay(sub, start)
    this.goLive(sub, feed)
  }

  private async replay(sub: Subscription, from: number) {
    let after = from
    for (;;) {
      const rows = await eventsAfter(this.db, sub.projectId, after, BATCH)
      for (const row of rows) {
        if (sub.ended) return
        this.deliver(sub, toDelivered(row))
      }
      if (rows.length < BATCH) return
      after = rows[rows.length - 1]!.seq
    }
  }

  /**
   * The replay is done: the held live events (deduplicated by seq); then the project's topic, once
   * the feed has published everything the replay gave (the replay can read past the feed's cursor,
   * and a publish cannot skip what one subscriber already has).
   */
  private goLive(sub: Subscription, feed: Feed) {
    const held = sub.buffer
    if (held) for (const ev of held) if (!sub.ended) this.deliver(sub, ev)
    sub.buffer = null
    this.joinTopicIfCaughtUp(sub, feed)
  }

  /** Synchronous with the last event given one by one: no event of the feed can fall between. */
  private joinTopicIfCaughtUp(sub: Subscription, feed: Feed) {
    if (sub.ended || sub.last > feed.cursor) return
    sub.onTopic = true
    sub.conn.ws?.subscribe(topic(sub.projectId))
  }

  private deliver(sub: Subscription, ev: DeliveredEvent) {
    if (ev.seq <= sub.last) return
    sub.last = ev.seq
    if (!PROJECT_EVENT_TYPES.has(ev.type)) return
    sub.conn.send(ev.text)
    this.endIfEndedBy(sub, ev)
  }

  /** After an event: a member's removal ends that member's subscription, the project's deletion every one. */
  private endIfEndedBy(sub: Subscription, ev: DeliveredEvent) {
    if (ev.type === 'project.deleted') this.drop(sub, 'project_deleted')
    else if (ev.type === 'member.removed' && ev.memberId === sub.conn.principal?.user.id)
      this.drop(sub, 'removed')
    else return false
    return true
  }

  private drop(sub: Subscription, reason: string) {
    this.endSub(sub)
    sub.conn.send(JSON.stringify({ type: 'unsubscribed', project_id: sub.projectId, reason }))
  }

  private endSub(sub: Subscription) {
    sub.ended = true
    sub.buffer = null
    if (!sub.conn.closed) sub.conn.ws?.unsubscribe(topic(sub.projectId))
    if (sub.conn.subs.get(sub.projectId) === sub) sub.conn.subs.delete(sub.projectId)
    const feed = this.feeds.get(sub.projectId)
    if (!feed) return
    feed.subs.delete(sub)
    if (!feed.subs.size && !feed.running) this.feeds.delete(sub.projectId)
  }

  /** Reads the project's new events and hands them to its subscribers; one read at a time per feed. */
  private pump(projectId: string) {
    const feed = this.feeds.get(projectId)
    if (!feed) return
    if (feed.running) {
      feed.again = true
      return
    }
    feed.running = true
    void (async () => {
      try {
        do {
          feed.again = false
          const rows = await eventsAfter(this.db, projectId, feed.cursor, BATCH)
          for (const row of rows) {
            const ev = toDelivered(row)
            feed.cursor = ev.seq
            this.fanOut(projectId, feed, ev)
          }
          if (rows.length === BATCH) feed.again = true
        } while (feed.again && feed.subs.size && !this.stopped)
      } catch (err) {
        // the next NOTIFY or the safety poll reads again from the same cursor: nothing is skipped
        this.o.logger.error('realtime read failed', { project_id: projectId, err: String(err) })
      } finally {
        feed.running = false
        if (!feed.subs.size) this.feeds.delete(projectId)
      }
    })()
  }

  /**
   * One event to the feed: live subscribers get it through the project's topic (Bun's publish,
   * one call for all of them), replaying ones into their buffer. Then what the event ends (a
   * member's removal, the project's deletion) and who fell too far behind.
   */
  private fanOut(projectId: string, feed: Feed, ev: DeliveredEvent) {
    if (PROJECT_EVENT_TYPES.has(ev.type)) this.server?.publish(topic(projectId), ev.text)
    for (const sub of feed.subs) {
      if (sub.buffer) {
        sub.buffer.push(ev)
        continue
      }
      if (!sub.onTopic) {
        this.deliver(sub, ev)
        this.joinTopicIfCaughtUp(sub, feed)
        continue
      }
      sub.last = ev.seq
      if (!this.endIfEndedBy(sub, ev) && (sub.conn.ws?.getBufferedAmount() ?? 0) > this.sendBufferBytes)
        this.slowConsumer(sub.conn)
    }
  }

  /** LISTEN once, on the first subscription; NOTIFYs wake the project's feed. */
  private listen() {
    this.listening ??= this.o.database
      .listen(EVENTS_CHANNEL, (projectId) => this.pump(projectId))
      .catch((err) => {
        this.o.logger.error('realtime could not LISTEN; falling back to polling', { err: String(err) })
        return null
      })
  }

  private ensureTimer() {
    if (this.timer || this.stopped) return
    this.timer = setInterval(() => this.tick(), this.o.settings.REALTIME_RECHECK_MS)
    this.timer.unref?.()
  }

  /** Closes sockets whose credentials ended; now and then re-reads every feed (missed NOTIFYs). */
  private async tick() {
    const now = Date.now()
    if (now - this.lastPoll >= POLL_MS) {
      this.lastPoll = now
      for (const id of this.feeds.keys()) this.pump(id)
    }
    if (this.checking) return
    const checked: [Connection, string][] = []
    const sessions: string[] = []
    const tokens: string[] = []
    for (const conn of this.conns) {
      const p = conn.principal
      if (!p) continue
      if (p.expiresAt !== null && p.expiresAt <= now) {
        conn.end(CLOSE.unauthorized, 'access token expired')
        continue
      }
      if (p.sessionId) sessions.push(p.sessionId)
      else if (p.tokenId) tokens.push(p.tokenId)
      else continue
      checked.push([conn, (p.sessionId ?? p.tokenId)!])
    }
    if (!checked.length) return
    this.checking = true
    try {
      const live = await liveCredentials(this.db, sessions, tokens)
      for (const [conn, id] of checked) {
        // a socket that re-authenticated meanwhile is checked next time, with its new credential
        const now = conn.principal?.sessionId ?? conn.principal?.tokenId
        if (now === id && !live.has(id))
          conn.end(CLOSE.unauthorized, 'session or token revoked, or account deactivated')
      }
    } catch (err) {
      this.o.logger.warn('realtime could not re-check credentials', { err: String(err) })
    } finally {
      this.checking = false
    }
  }

  /** Shutdown: every socket is closed with 1001 (going away), so clients reconnect elsewhere with `since`. */
  async close() {
    this.stopped = true
    clearInterval(this.timer)
    for (const conn of [...this.conns]) conn.end(CLOSE.goingAway, 'server shutting down')
    const unlisten = await this.listening
    await unlisten?.()
  }
}

const topic = (projectId: string) => `project:${projectId}`

function toDelivered(row: EventRow): DeliveredEvent {
  const event = toPublicEvent(row)
  const ev: DeliveredEvent = {
    seq: row.seq,
    type: row.type,
    text: `{"type":"event","event":${JSON.stringify(event)}}`,
  }
  if (row.type === 'member.removed') ev.memberId = (event.data.user as { id?: string } | undefined)?.id
  return ev
}
