import { RedisClient } from 'bun'
import type { Logger } from './logger'
import { MemoryRateLimitStore, type RateLimitHit, type RateLimitStore } from './rate-limit'

// Each script runs atomically in Redis: concurrent hits from every instance are counted exactly.
const INCREMENT = `local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) end
return {c, ttl}`
const GET = `local c = redis.call('GET', KEYS[1])
if not c then return nil end
return {tonumber(c), redis.call('PTTL', KEYS[1])}`
const DECREMENT = `local c = tonumber(redis.call('GET', KEYS[1]) or '0')
if c > 0 then redis.call('DECR', KEYS[1]) end
return c`

/**
 * Fixed-window counters in Redis (Bun's built-in client), shared by every instance: three
 * instances together allow the configured number, not three times it. Keys expire with their
 * window, so Redis holds only live windows.
 */
export class RedisRateLimitStore implements RateLimitStore {
  constructor(
    readonly client: RedisClient,
    private readonly prefix = 'taskbase:rl:',
    private readonly now: () => number = Date.now,
  ) {}

  async increment(key: string, windowMs: number): Promise<RateLimitHit> {
    const [count, ttl] = (await this.client.send('EVAL', [
      INCREMENT,
      '1',
      this.prefix + key,
      String(windowMs),
    ])) as [number, number]
    return { count, resetAt: this.now() + ttl }
  }

  async get(key: string): Promise<RateLimitHit | null> {
    const row = (await this.client.send('EVAL', [GET, '1', this.prefix + key])) as [number, number] | null
    if (!row || row[1] <= 0) return null
    return { count: row[0], resetAt: this.now() + row[1] }
  }

  async decrement(key: string): Promise<void> {
    await this.client.send('EVAL', [DECREMENT, '1', this.prefix + key])
  }

  async reset(key: string): Promise<void> {
    await this.client.del(this.prefix + key)
  }
}

/**
 * The shared store, and this instance's memory when the shared one fails: the server keeps
 * serving and every limit still holds per instance (login throttling never fails open). Logs a
 * warning at most once a minute while it falls back, and asks the client to reconnect.
 */
export class FallbackRateLimitStore implements RateLimitStore {
  /** Operations answered from memory because the shared store failed (for metrics and tests). */
  fallbacks = 0
  private warnedAt = 0

  constructor(
    private readonly shared: RateLimitStore,
    private readonly local: RateLimitStore,
    /** Called at most once a minute while the shared store fails (a warning). */
    private readonly onFailure: (err: unknown) => void,
    /** Called on every failure (a reconnect attempt, throttled by the caller). */
    private readonly onEveryFailure: () => void = () => {},
  ) {}

  private async run<T>(op: (s: RateLimitStore) => Promise<T>): Promise<T> {
    try {
      return await op(this.shared)
    } catch (err) {
      this.fallbacks++
      this.onEveryFailure()
      if (Date.now() - this.warnedAt > 60_000) {
        this.warnedAt = Date.now()
        this.onFailure(err)
      }
      return op(this.local)
    }
  }

  increment(key: string, windowMs: number) {
    return this.run((s) => s.increment(key, windowMs))
  }
  get(key: string) {
    return this.run((s) => s.get(key))
  }
  decrement(key: string) {
    return this.run((s) => s.decrement(key))
  }
  reset(key: string) {
    return this.run((s) => s.reset(key))
  }
}

/**
 * The process's rate-limit store: in memory, or shared through Redis when `redisUrl` is set.
 * Commands fail at once while disconnected (no offline queue), so a Redis outage costs no request
 * any time: the limits fall back to memory and the client reconnects in the background. Await
 * `ready` before serving.
 */
export function createRateLimitStore(redisUrl: string | undefined, logger: Logger) {
  if (!redisUrl)
    return {
      store: new MemoryRateLimitStore() as RateLimitStore,
      ready: Promise.resolve(),
      fallbacks: () => 0,
      close: () => {},
    }
  // no offline queue and no automatic reconnect: while Redis is away every command fails at once
  // and this store reconnects on its own schedule (at most one attempt a second)
  const client = new RedisClient(redisUrl, {
    connectionTimeout: 2_000,
    enableOfflineQueue: false,
    autoReconnect: false,
  })
  let lastAttempt = 0
  const reconnect = () => {
    if (client.connected || Date.now() - lastAttempt < 1_000) return
    lastAttempt = Date.now()
    client.connect().catch(() => {})
  }
  const store = new FallbackRateLimitStore(
    new RedisRateLimitStore(client),
    new MemoryRateLimitStore(),
    (err) =>
      logger.warn('Redis is unavailable: rate limits hold per instance until it is back', {
        err: String((err as Error)?.message ?? err),
      }),
    reconnect,
  )
  // commands fail while the client is not connected: connect before serving (bounded by the
  // connection timeout); if Redis is down at start, the limits hold per instance until it is up
  lastAttempt = Date.now()
  const ready = client.connect().then(
    () => logger.info('rate limits are shared through Redis'),
    (err) => {
      logger.warn('Redis is unavailable at start: rate limits hold per instance until it is back', {
        err: String((err as Error)?.message ?? err),
      })
    },
  )
  return {
    store: store as RateLimitStore,
    ready,
    fallbacks: () => store.fallbacks,
    close: () => client.close(),
  }
}
