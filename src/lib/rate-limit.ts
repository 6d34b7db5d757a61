import { rateLimited } from './errors'

export interface RateLimitHit {
  /** Hits counted in the current window, this one included. */
  count: number
  /** When the current window ends (ms since epoch). */
  resetAt: number
}

/**
 * Where hit counters live. The memory store suits one instance; a shared store (Redis, SQL)
 * implementing the same interface makes the limits hold across instances.
 */
export interface RateLimitStore {
  /** Counts one hit on `key` in its fixed window of `windowMs`. */
  increment(key: string, windowMs: number): Promise<RateLimitHit>
  /** The current window of `key` without counting a hit; null when none is open. */
  get(key: string): Promise<RateLimitHit | null>
  /** Gives back one hit counted in the current window (a reservation that turned out fine). */
  decrement(key: string): Promise<void>
  reset(key: string): Promise<void>
}

/**
 * Fixed-window counters in a Map. Memory is bounded: expired windows are swept as keys are
 * added, and past `maxKeys` the oldest windows are dropped (forgetting a counter only ever
 * lets a client through, never locks one out).
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly windows = new Map<string, RateLimitHit>()
  private nextSweep = 0

  constructor(
    private readonly maxKeys = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.windows.size
  }

  async increment(key: string, windowMs: number): Promise<RateLimitHit> {
    const now = this.now()
    let hit = this.windows.get(key)
    if (!hit || hit.resetAt <= now) {
      this.windows.delete(key)
      this.makeRoom(now)
      hit = { count: 0, resetAt: now + windowMs }
      this.windows.set(key, hit)
    }
    hit.count++
    return { ...hit }
  }

  async get(key: string): Promise<RateLimitHit | null> {
    const hit = this.windows.get(key)
    if (!hit || hit.resetAt <= this.now()) return null
    return { ...hit }
  }

  async decrement(key: string): Promise<void> {
    const hit = this.windows.get(key)
    if (hit && hit.resetAt > this.now() && hit.count > 0) hit.count--
  }

  async reset(key: string): Promise<void> {
    this.windows.delete(key)
  }

  private makeRoom(now: number) {
    if (this.windows.size < this.maxKeys && now < this.nextSweep) return
    for (const [k, v] of this.windows) if (v.resetAt <= now) this.windows.delete(k)
    this.nextSweep = now + 60_000
    for (const k of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) break
      this.windows.delete(k)
    }
  }
}

export interface Limit {
  limit: number
  windowMs: number
}

const retryAfter = (hit: RateLimitHit, now: number) => Math.max(1, Math.ceil((hit.resetAt - now) / 1000))

/** Limits expressed over a store: `consume` counts and refuses; `check` + `fail` count failures only. */
export class RateLimiter {
  constructor(
    readonly store: RateLimitStore = new MemoryRateLimitStore(),
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one attempt; throws 429 (with Retry-After) once more than `limit` happened in the window. */
  async consume(key: string, { limit, windowMs }: Limit): Promise<void> {
    const hit = await this.store.increment(key, windowMs)
    if (hit.count > limit) throw rateLimited(retryAfter(hit, this.now()))
  }

  /**
   * Counts the attempt BEFORE the slow work it guards (throws 429 when over `limit`), so concurrent
   * attempts cannot all pass a check made before any of them is counted. Returns the refund, to
   * call when the attempt turns out not to count (a correct password).
   */
  async reserve(key: string, l: Limit): Promise<() => Promise<void>> {
    await this.consume(key, l)
    let refunded = false
    return async () => {
      if (refunded) return
      refunded = true
      await this.store.decrement(key)
    }
  }

  /** Throws 429 when `key` already reached `limit` in the window. */
  async check(key: string, l: Limit): Promise<void> {
    const hit = await this.store.get(key)
    if (hit && hit.count >= l.limit) throw rateLimited(retryAfter(hit, this.now()))
  }

  async fail(key: string, { windowMs }: Limit): Promise<void> {
    await this.store.increment(key, windowMs)
  }

  async reset(key: string): Promise<void> {
    await this.store.reset(key)
  }
}

/**
 * Caps the requests doing slow work (a password check) at once per key, before they queue for
 * the hasher: one client cannot fill the queue that everybody's login waits in. Entries exist
 * only while a request is in flight, so the map is bounded by the number of open requests.
 */
export class InFlightLimiter {
  private readonly active = new Map<string, number>()

  get size(): number {
    return this.active.size
  }

  /** Takes a slot on every key (all or none); throws 429 (Retry-After: 1) when one is full. */
  enter(keys: readonly (readonly [key: string, max: number])[]): () => void {
    for (const [key, max] of keys) if ((this.active.get(key) ?? 0) >= max) throw rateLimited(1)
    for (const [key] of keys) this.active.set(key, (this.active.get(key) ?? 0) + 1)
    let left = false
    return () => {
      if (left) return
      left = true
      for (const [key] of keys) {
        const n = (this.active.get(key) ?? 1) - 1
        if (n <= 0) this.active.delete(key)
        else this.active.set(key, n)
      }
    }
  }
}
