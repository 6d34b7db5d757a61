/** A real HTTP(S) webhook receiver on loopback that records every request. */
export interface Received {
  id: string
  timestamp: string
  signature: string
  host: string | null
  body: string
  headers: Record<string, string>
  at: number
}

export interface ReceiverOptions {
  /** The answer to the n-th request (0-based); default 200 "ok". */
  respond?: (n: number, r: Received) => Response | Promise<Response>
  tls?: { cert: string; key: string }
}

export function startReceiver(opts: ReceiverOptions = {}) {
  const received: Received[] = []
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    tls: opts.tls,
    idleTimeout: 60,
    async fetch(req) {
      const r: Received = {
        id: req.headers.get('webhook-id') ?? '',
        timestamp: req.headers.get('webhook-timestamp') ?? '',
        signature: req.headers.get('webhook-signature') ?? '',
        host: req.headers.get('host'),
        body: await req.text(),
        headers: Object.fromEntries(req.headers),
        at: Date.now(),
      }
      const n = received.push(r) - 1
      return opts.respond ? opts.respond(n, r) : new Response('ok')
    },
  })
  return {
    received,
    port: server.port!,
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${server.port}/hook`,
    stop: () => server.stop(true),
  }
}

type Falsy = null | undefined | false

/** Polls `check` until it returns a truthy value (or throws after `ms`). */
export async function eventually<T>(
  check: () => Promise<T | Falsy> | T | Falsy,
  ms = 10_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const end = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v) return v as NonNullable<T>
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(20)
  }
}
