import { LruCache } from '../../lib/lru'
import type { Principal } from './principal'

/** Where the database announces principal changes (drizzle/0006_principal_changes.sql). */
export const PRINCIPALS_CHANNEL = 'taskbase_principals'

export interface CachedPrincipal {
  principal: Principal
  /** ms since the epoch: the first of the access token's, the session's and the API token's expiry. */
  validUntil: number
  /** When last_used_at was last written (ms), so hits keep refreshing it once a minute. */
  usedAt: number
  /** Writes last_used_at (off the request path). */
  touch: () => void
}

/**
 * Bearer tokens already checked, in memory, for the embedded server (issue 15): a hit answers
 * without the database and without verifying the JWT again. It is exact because one process owns
 * the embedded database and every change to a user, session or API token NOTIFYs that user's id
 * (a trigger), which PGlite delivers before the writing call returns: `invalidate` runs before
 * the change's own answer goes out. A fill that read the database before such a change and
 * arrives after it is not stored (`mark`). Bounded (LRU); inactive until listening.
 */
export class PrincipalCache {
  private readonly entries: LruCache<string, CachedPrincipal>
  private generation = 0
  private active = false

  constructor(
    max: number,
    private readonly now: () => number = Date.now,
  ) {
    this.entries = new LruCache(max)
  }

  get size() {
    return this.entries.size
  }

  /** Called once the change notifications are heard; until then nothing is stored. */
  activate() {
    this.active = true
  }

  /** A live entry for the token, or undefined (an expired one is dropped). */
  get(token: string): CachedPrincipal | undefined {
    const entry = this.entries.get(token)
    if (!entry) return undefined
    if (this.now() < entry.validUntil) return entry
    this.entries.delete(token)
    return undefined
  }

  /** Taken before the database is read; `set` stores nothing if a change came in between. */
  mark(): number {
    return this.generation
  }

  set(token: string, entry: CachedPrincipal, mark: number) {
    if (this.active && mark === this.generation) this.entries.set(token, entry)
  }

  /** The user's principals changed: every entry of theirs goes. */
  invalidate(userId: string) {
    this.generation++
    this.entries.deleteWhere((e) => e.principal.user.id === userId)
  }
}
