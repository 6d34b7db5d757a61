import type { Settings } from '../config'
import { rateLimited } from './errors'
import type { RateLimitStore } from './rate-limit'

export type LimitClass = 'reads' | 'writes' | 'exports'
const WINDOW_MS = 60_000
/** Methods that change nothing: the reads budget, and all a `read` API token may use. */
export const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Which budget a request spends: exports are their own class (they stream whole projects). */
export function limitClass(method: string, path: string): LimitClass {
  if (path.endsWith('/export')) return 'exports'
  return READ_METHODS.has(method) ? 'reads' : 'writes'
}

/**
 * The general per-caller limit on authenticated requests (issue 13 #2): a fixed one-minute window
 * per user (login sessions) or per API token, one budget per class, counted in the shared store
 * (Redis with REDIS_URL) before any other work. Every limited response carries the IETF
 * `RateLimit-Policy` and `RateLimit` headers (draft-ietf-httpapi-ratelimit-headers, structured
 * form); over the limit it is a 429 with `Retry-After` too.
 */
export function createApiLimits(settings: Settings, store: RateLimitStore, now: () => number = Date.now) {
  const quota: Record<LimitClass, number> = {
    reads: settings.RATE_LIMIT_READS_PER_MINUTE,
    writes: settings.RATE_LIMIT_WRITES_PER_MINUTE,
    exports: settings.RATE_LIMIT_EXPORTS_PER_MINUTE,
  }
  /** Counts the request; returns the headers to send, or throws the 429 that carries them. */
  return async function spend(cls: LimitClass, subject: string): Promise<Record<string, string> | undefined> {
    const q = quota[cls]
    if (!q) return undefined
    const hit = await store.increment(`api:${cls}:${subject}`, WINDOW_MS)
    const reset = Math.max(1, Math.ceil((hit.resetAt - now()) / 1000))
    const headers = {
      'RateLimit-Policy': `"${cls}";q=${q};w=${WINDOW_MS / 1000}`,
      RateLimit: `"${cls}";r=${Math.max(0, q - hit.count)};t=${reset}`,
    }
    if (hit.count > q) throw rateLimited(reset, headers)
    return headers
  }
}

export type ApiLimits = ReturnType<typeof createApiLimits>
