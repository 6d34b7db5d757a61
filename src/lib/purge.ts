import { and, isNotNull, lt } from 'drizzle-orm'
import type { Db } from '../db/client'
import { idempotencyKeys, projects } from '../db/schema'
import { RESTORE_WINDOW_DAYS } from '../modules/projects/service'
import { describeError } from '../plugins/http'
import type { Logger } from './logger'

/** How often `serve` purges expiring rows outside identity (identity has its own hourly timer). */
export const ROW_PURGE_INTERVAL_MS = 3_600_000

const DAY_MS = 86_400_000

/**
 * Deletes the rows whose life is over: idempotency keys past `expires_at` (a reused key also
 * deletes its own, but unused ones would stay forever), and soft-deleted projects past the restore
 * window (their tasks, comments, members and events go with them: foreign keys cascade).
 */
export async function purgeExpiredRows(db: Db): Promise<{ idempotency_keys: number; projects: number }> {
  const now = Date.now()
  const keys = await db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.expiresAt, new Date(now)))
    .returning({ key: idempotencyKeys.key })
  const trashed = await db
    .delete(projects)
    .where(
      and(
        isNotNull(projects.deletedAt),
        lt(projects.deletedAt, new Date(now - RESTORE_WINDOW_DAYS * DAY_MS)),
      ),
    )
    .returning({ id: projects.id })
  return { idempotency_keys: keys.length, projects: trashed.length }
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
