import { and, inArray, lt, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { idempotencyKeys } from '../db/schema'

const BATCH = 1_000

/**
 * Runs `step` (one short statement that deletes at most `batch` rows and says how many) until a
 * step deletes fewer than `batch`: a large backlog is purged without ever holding a long lock.
 * Returns the total.
 */
export async function inBatches(batch: number, step: () => Promise<number>): Promise<number> {
  let total = 0
  for (;;) {
    const n = await step()
    total += n
    if (n < batch) return total
  }
}

/**
 * Deletes idempotency keys past `expires_at`: a reused key deletes its own, but keys never used
 * again would stay forever. Short statements of BATCH rows, so a large backlog never holds a long
 * lock. Run by the hourly purge job (src/jobs/definitions.ts).
 */
export async function purgeExpiredRows(db: Db, batch = BATCH): Promise<{ idempotency_keys: number }> {
  const now = new Date()
  const total = await inBatches(batch, async () => {
    const expired = db
      .select({ userId: idempotencyKeys.userId, key: idempotencyKeys.key })
      .from(idempotencyKeys)
      .where(lt(idempotencyKeys.expiresAt, now))
      .limit(batch)
    const gone = await db
      .delete(idempotencyKeys)
      .where(
        and(
          lt(idempotencyKeys.expiresAt, now),
          inArray(sql`(${idempotencyKeys.userId}, ${idempotencyKeys.key})`, expired),
        ),
      )
      .returning({ key: idempotencyKeys.key })
    return gone.length
  })
  return { idempotency_keys: total }
}
