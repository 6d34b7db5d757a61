import { websocketOptions } from '../../src/modules/realtime'
import type { TestContext } from './app'

/** The test app listening on a free loopback port (realtime needs a real server); returns its ws:// URL. */
export function listen(ctx: TestContext): string {
  ctx.app.listen({ hostname: '127.0.0.1', port: 0, websocket: websocketOptions(ctx.settings) })
  return `ws://127.0.0.1:${ctx.app.server!.port}/api/v1/realtime`
}

/** Closes the app's sockets (1001, as at shutdown) and stops listening. */
export async function stop(ctx: TestContext) {
  await ctx.app.decorator.realtime.close()
  await ctx.app.stop(true)
}

export type Message = { type: string; [k: string]: any }

/** A WebSocket client that queues what it receives, so a test can wait for the next message. */
export class Client {
  readonly ws: WebSocket
  readonly received: Message[] = []
  private waiters: (() => void)[] = []
  readonly opened: Promise<void>
  readonly closed: Promise<{ code: number; reason: string }>

  constructor(url: string, token?: string) {
    this.ws = new WebSocket(
      url,
      token ? ({ headers: { authorization: `Bearer ${token}` } } as any) : undefined,
    )
    this.opened = new Promise((resolve, reject) => {
      this.ws.addEventListener('open', () => resolve())
      this.ws.addEventListener('error', () => reject(new Error('websocket error before open')))
    })
    this.closed = new Promise((resolve) =>
      this.ws.addEventListener('close', (e) => {
        resolve({ code: e.code, reason: e.reason })
        this.wake()
      }),
    )
    this.ws.addEventListener('message', (e) => {
      this.received.push(JSON.parse(String(e.data)))
      this.wake()
    })
  }

  static async connect(url: string, token?: string) {
    const c = new Client(url, token)
    await c.opened
    if (token) await c.next('authenticated')
    return c
  }

  /** A client authenticated by header and subscribed to `projectId`. */
  static async subscribed(url: string, token: string, projectId: string) {
    const c = await Client.connect(url, token)
    await c.subscribe(projectId)
    return c
  }

  private wake() {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  send(m: unknown) {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m))
  }

  /** Removes and returns the first queued message of `type` (any type if omitted), waiting for it. */
  async next(type?: string, timeoutMs = 5_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = this.received.findIndex((m) => !type || m.type === type)
      if (i >= 0) return this.received.splice(i, 1)[0]!
      if (this.ws.readyState === WebSocket.CLOSED)
        throw new Error(`closed while waiting for ${type ?? 'a message'}`)
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(
          `no ${type ?? 'message'} within ${timeoutMs} ms; queued: ${JSON.stringify(this.received)}`,
        )
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** The next event (the `event` of the next `{type: "event"}` message). */
  async event(timeoutMs = 10_000): Promise<Message> {
    return (await this.next('event', timeoutMs)).event
  }

  /** The next `n` events (of the queue, in order). */
  async events(n: number, timeoutMs = 10_000) {
    const out: Message[] = []
    for (let i = 0; i < n; i++) out.push((await this.next('event', timeoutMs)).event)
    return out
  }

  async subscribe(projectId: string, since?: string) {
    this.send({ type: 'subscribe', project_id: projectId, ...(since ? { since } : {}) })
    return this.next('subscribed')
  }

  close() {
    this.ws.close()
    return this.closed
  }
}
