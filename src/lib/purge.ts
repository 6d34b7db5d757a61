import { and, inArray, lt, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { idempotencyKeys } from '../db/schema'
import { describeError } from '../plugins/http'
import type { Logger } from './logger'

/** How often `serve` purges expiring rows outside identity (identity has its own hourly timer). */
export const ROW_PURGE_INTERVAL_MS = 3_600_000

const BATCH = 1_000

/**
 * Deletes idempotency keys past `expires_at`: a reused key deletes its own, but keys never used
 * again would stay forever. Short statements of BATCH rows, so a large backlog never holds a long
 * lock. (Projects past their 30 days in the trash are the purge job's: src/jobs/definitions.ts.)
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

/** Runs purgeExpiredRows every `intervalMs` (one run at a time); returns the function that stops it. */
export function startRowPurge(db: Db, logger: Logger, intervalMs = ROW_PURGE_INTERVAL_MS): () => void {
  let running = false
  const timer = setInterval(async () => {
    if (running) return
    running = true
    try {
      const purged = await purgeExpiredRows(db)
      logger.info('expired rows purged', purged)
    } catch (err) {
      logger.error('purging expired rows failed', { err: describeError(err) })
    } finally {
      running = false
    }
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
