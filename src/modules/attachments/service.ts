import { and, asc, count, eq, isNull, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { attachments, type ProjectRole, projectMembers, projects, tasks } from '../../db/schema'
import { recordEvent } from '../../events/record'
import {
  AppError,
  fieldError,
  forbidden,
  notFound,
  unsupportedMediaType,
  validationFailed,
} from '../../lib/errors'
import { type Page, pageOf } from '../../lib/pagination'
import { orElse } from '../../lib/promise'
import { hasRole, projectAccess, requireRole, taskAccess } from '../../shared/access'
import { decideType, sanitizeFilename } from './content'
import type { AttachmentStorage } from './storage'
import { type Received, receiveUpload } from './upload'

type AttachmentRow = typeof attachments.$inferSelect

export function toPublicAttachment(a: AttachmentRow) {
  return {
    id: a.id,
    task_id: a.taskId,
    filename: a.filename,
    content_type: a.contentType,
    size: a.size,
    sha256: a.sha256,
    created_by: a.createdBy,
    created_at: a.createdAt.toISOString(),
  }
}
export type PublicAttachment = ReturnType<typeof toPublicAttachment>

export interface AttachmentDeps {
  db: Db
  storage: AttachmentStorage
  maxBytes: number
  /** Types allowed, as decided from the bytes. */
  allowed: ReadonlySet<string>
  /** Attachment bytes per project; 0 = no quota. */
  quota: number
}

/** The attachment with the caller's project role: attachment -> live project -> membership, one query. */
export async function attachmentAccess(db: Db, id: string, userId: string, lock = false) {
  const q = db
    .select({ attachment: attachments, role: projectMembers.role })
    .from(attachments)
    .innerJoin(projects, and(eq(projects.id, attachments.projectId), isNull(projects.deletedAt)))
    .innerJoin(
      projectMembers,
      and(eq(projectMembers.projectId, attachments.projectId), eq(projectMembers.userId, userId)),
    )
    .where(eq(attachments.id, id))
    .limit(1)
  const [row] = lock ? await q.for('update', { of: attachments }) : await q
  if (!row) throw notFound('Attachment')
  return row as { attachment: AttachmentRow; role: ProjectRole }
}

/** Attachments of a task, oldest first. */
export async function listAttachments(db: Db, userId: string, taskId: string, page: Page) {
  await taskAccess(db, taskId, userId)
  const where = eq(attachments.taskId, taskId)
  const [rows, [total]] = await Promise.all([
    db
      .select()
      .from(attachments)
      .where(where)
      .orderBy(asc(attachments.createdAt), asc(attachments.id))
      .limit(page.pageSize)
      .offset(page.offset),
    db.select({ n: count() }).from(attachments).where(where),
  ])
  return pageOf(rows.map(toPublicAttachment), total?.n ?? 0, page)
}

/** 413 when `adding` more bytes would take the project's attachments over `quota` (0: no quota). */
async function checkQuota(db: Db, quota: number, projectId: string, adding: number) {
  if (!quota) return
  const [row] = await db
    .select({ n: sql<string>`coalesce(sum(${attachments.size}), 0)` })
    .from(attachments)
    .where(eq(attachments.projectId, projectId))
  if (Number(row?.n ?? 0) + adding > quota)
    throw new AppError('storage_quota_exceeded', `The project's attachments would exceed its ${quota} bytes`)
}

/**
 * An upload: access is checked before a byte of the body is read; the body streams into a temp
 * file (limit, hash, UTF-8 check); the type is decided from the bytes; the object is stored, and
 * only then the row and its event are written under the project's lock (quota). A failure after
 * the object was stored deletes it; a crash there leaves an object without a row, which the
 * sweep removes. So a row always names a whole object, and only answered uploads have rows.
 */
export async function createAttachment(
  deps: AttachmentDeps,
  userId: string,
  taskId: string,
  request: Request,
) {
  const { db, storage } = deps
  const { task, role } = await taskAccess(db, taskId, userId)
  requireRole(role, 'editor', 'upload attachments')
  // a full project is refused before the body is read
  await checkQuota(db, deps.quota, task.projectId, 1)
  const file = await receiveUpload(request, storage.tempDir, deps.maxBytes)
  let stored = false
  const id = Bun.randomUUIDv7()
  try {
    const contentType = await checkedType(deps, file)
    await storage.put(id, file.tmpPath, contentType)
    stored = true
    return await db.transaction(async (tx) => {
      // the task may have been deleted, or the caller removed, while the file streamed in; the
      // project's row lock orders concurrent uploads for the quota
      const { role: now } = await projectAccess(tx, task.projectId, userId, { lock: true })
      requireRole(now, 'editor', 'upload attachments')
      const [live] = await tx
        .select({ id: tasks.id })
        .from(tasks)
        .where(and(eq(tasks.id, taskId), eq(tasks.projectId, task.projectId)))
        .for('share')
      if (!live) throw notFound('Task')
      await checkQuota(tx, deps.quota, task.projectId, file.size)
      const [row] = await tx
        .insert(attachments)
        .values({
          id,
          taskId,
          projectId: task.projectId,
          filename: sanitizeFilename(file.filename, 'file'),
          contentType,
          size: file.size,
          sha256: file.sha256,
          storageKey: id,
          createdBy: userId,
        })
        .returning()
      const pub = toPublicAttachment(row!)
      await recordEvent(tx, {
        type: 'attachment.created',
        projectId: task.projectId,
        actorId: userId,
        data: pub,
      })
      return pub
    })
  } catch (e) {
    if (stored) await orElse(storage.delete(id), null)
    throw e
  } finally {
    if (!stored) await orElse(Bun.file(file.tmpPath).delete(), null)
  }
}

async function checkedType(deps: AttachmentDeps, file: Received): Promise<string> {
  if (file.size === 0) throw validationFailed([fieldError('file', 'must not be empty')])
  const type = await decideType(file.tmpPath, file, file.filename)
  if (!deps.allowed.has(type))
    throw unsupportedMediaType(
      `Files of type ${type} (decided from the content) are not accepted; allowed: ${[...deps.allowed].join(', ')}`,
    )
  return type
}

/** The uploader (while editor or above) or the project owner deletes an attachment. */
export async function deleteAttachment(db: Db, userId: string, id: string) {
  await db.transaction(async (tx) => {
    const { attachment, role } = await attachmentAccess(tx, id, userId, true)
    const mayDelete = role === 'owner' || (attachment.createdBy === userId && hasRole(role, 'editor'))
    if (!mayDelete) throw forbidden('Only the uploader or the project owner may delete an attachment')
    // the delete trigger queues the removal of the object in this transaction
    await tx.delete(attachments).where(eq(attachments.id, id))
    await recordEvent(tx, {
      type: 'attachment.deleted',
      projectId: attachment.projectId,
      actorId: userId,
      data: toPublicAttachment(attachment),
    })
  })
}
