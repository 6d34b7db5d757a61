import { and, inArray, lt, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { idempotencyKeys } from '../db/schema'

const BATCH = 1_000

/**
 * Deletes idempotency keys past `expires_at`: a reused key deletes its own, but keys never used
 * again would stay forever. Short statements of BATCH rows, so a large backlog never holds a long
 * lock. Run by the hourly purge job (src/jobs/definitions.ts).
 */
export async function purgeExpiredRows(db: Db, batch = BATCH): Promise<{ idempotency_keys: number }> {
  const now = new Date()
  let total = 0
  for (;;) {
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
    total += gone.length
    if (gone.length < batch) return { idempotency_keys: total }
  }
}
