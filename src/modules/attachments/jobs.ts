import { readdir, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { asc, gt, inArray } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { attachments } from '../../db/schema'
import type { Logger } from '../../lib/logger'
import { orElse } from '../../lib/promise'
import type { AttachmentStorage } from './storage'

export const DELETE_JOB = 'attachment-delete'
export const SWEEP_JOB = 'attachment-sweep'
export const SWEEP_EVERY_MS = 3_600_000
/** Objects and temp files younger than this are left alone: an upload may still be writing its row. */
export const SWEEP_GRACE_MS = 3_600_000

/**
 * Objects without a row (a crash between storing and committing, a failed delete) and temp files
 * of interrupted uploads, older than the grace period, are deleted; rows whose object is missing
 * are counted and logged (their downloads answer 404), never deleted.
 */
export async function sweepAttachments(db: Db, storage: AttachmentStorage, logger: Logger, now = Date.now()) {
  const cutoff = now - SWEEP_GRACE_MS
  let orphans = 0
  let seen = 0
  const batch: { key: string; old: boolean }[] = []
  const present = new Set<string>()
  const flush = async () => {
    const keys = batch.map((b) => b.key)
    const rows = keys.length
      ? await db
          .select({ key: attachments.storageKey })
          .from(attachments)
          .where(inArray(attachments.storageKey, keys))
      : []
    const known = new Set(rows.map((r) => r.key))
    for (const b of batch) {
      if (known.has(b.key)) present.add(b.key)
      else if (b.old) {
        await storage.delete(b.key)
        orphans++
      }
    }
    batch.length = 0
  }
  for await (const o of storage.list()) {
    seen++
    batch.push({ key: o.key, old: o.modified.getTime() < cutoff })
    if (batch.length >= 500) await flush()
  }
  await flush()
  let missing = 0
  // rows in id order, a page at a time
  let after = '00000000-0000-0000-0000-000000000000'
  for (;;) {
    const rows = await db
      .select({ id: attachments.id, key: attachments.storageKey, at: attachments.createdAt })
      .from(attachments)
      .where(gt(attachments.id, after))
      .orderBy(asc(attachments.id))
      .limit(1000)
    for (const row of rows)
      if (!present.has(row.key) && row.at.getTime() < cutoff) {
        missing++
        logger.error('attachment object is missing from storage', { attachment_id: row.id, key: row.key })
      }
    if (rows.length < 1000) break
    after = rows[rows.length - 1]!.id
  }
  let temps = 0
  for (const name of await orElse(readdir(storage.tempDir), [] as string[])) {
    const path = join(storage.tempDir, name)
    const s = await orElse(stat(path), null)
    if (
      s?.isFile() &&
      s.mtimeMs < cutoff &&
      (await orElse(
        unlink(path).then(() => true),
        false,
      ))
    )
      temps++
  }
  if (orphans || missing || temps) logger.warn('attachment sweep', { objects: seen, orphans, missing, temps })
  return { objects: seen, orphans, missing, temps }
}

/** The jobs of attachments: deleting the objects of deleted rows (queued by a trigger), and the sweep. */
export function attachmentJobs(deps: { db: Db; storage: AttachmentStorage; logger: Logger }) {
  return [
    {
      type: DELETE_JOB,
      maxAttempts: 10,
      concurrency: 2,
      async handle(payload: Record<string, unknown>) {
        const keys = Array.isArray(payload.keys) ? (payload.keys as string[]) : []
        for (const key of keys) await deps.storage.delete(key)
        return { deleted: keys.length }
      },
    },
    {
      type: SWEEP_JOB,
      maxAttempts: 3,
      concurrency: 1,
      timeoutMs: 15 * 60_000,
      handle: () => sweepAttachments(deps.db, deps.storage, deps.logger),
    },
  ]
}
