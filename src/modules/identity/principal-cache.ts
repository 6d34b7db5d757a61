import { GroupedCache } from '../../lib/grouped-cache'
import type { Principal } from './principal'

/** Where the database announces principal changes (drizzle/0006_change_notifications.sql). */
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
 * (a trigger), which PGlite delivers before the writing call returns: `invalidate(userId)` runs
 * before the change's own answer goes out. Entries are grouped by user; expired ones are not served.
 */
export class PrincipalCache extends GroupedCache<CachedPrincipal> {
  constructor(max: number, now: () => number = Date.now) {
    super(
      max,
      (entry) => entry.principal.user.id,
      (entry) => now() >= entry.validUntil,
    )
  }
}
