import { and, asc, count, eq, isNull, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { comments, type ProjectRole, projectMembers, projects } from '../../db/schema'
import { recordEvent } from '../../events/record'
import { forbidden, notFound } from '../../lib/errors'
import { checkIfMatch } from '../../lib/etag'
import { type Page, pageOf } from '../../lib/pagination'
import { hasRole, requireRole, taskAccess } from '../../shared/access'

type CommentRow = typeof comments.$inferSelect

export function toPublicComment(c: CommentRow) {
  return {
    id: c.id,
    task_id: c.taskId,
    author_id: c.authorId,
    body: c.body,
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
    version: c.version,
  }
}
export type PublicComment = ReturnType<typeof toPublicComment>

/** The comment with the caller's project role: comment -> live project -> membership, one query. */
async function commentAccess(db: Db, id: string, userId: string, lock = false) {
  const q = db
    .select({ comment: comments, role: projectMembers.role })
    .from(comments)
    .innerJoin(projects, and(eq(projects.id, comments.projectId), isNull(projects.deletedAt)))
    .innerJoin(
      projectMembers,
      and(eq(projectMembers.projectId, comments.projectId), eq(projectMembers.userId, userId)),
    )
    .where(eq(comments.id, id))
    .limit(1)
  const [row] = lock ? await q.for('update', { of: comments }) : await q
  if (!row) throw notFound('Comment')
  return row as { comment: CommentRow; role: ProjectRole }
}

/** Comments of a task, oldest first. */
export async function listComments(db: Db, userId: string, taskId: string, page: Page) {
  await taskAccess(db, taskId, userId)
  const where = eq(comments.taskId, taskId)
  const [rows, [total]] = await Promise.all([
    db
      .select()
      .from(comments)
      .where(where)
      .orderBy(asc(comments.createdAt), asc(comments.id))
      .limit(page.pageSize)
      .offset(page.offset),
    db.select({ n: count() }).from(comments).where(where),
  ])
  return pageOf(rows.map(toPublicComment), total?.n ?? 0, page)
}

export async function getComment(db: Db, userId: string, id: string) {
  return toPublicComment((await commentAccess(db, id, userId)).comment)
}

export async function createComment(db: Db, userId: string, taskId: string, body: string) {
  const { task, role } = await taskAccess(db, taskId, userId)
  requireRole(role, 'editor', 'comment')
  return db.transaction(async (tx) => {
    const [c] = await tx
      .insert(comments)
      .values({ taskId, projectId: task.projectId, authorId: userId, body })
      .returning()
    const pub = toPublicComment(c!)
    await recordEvent(tx, { type: 'comment.created', projectId: task.projectId, actorId: userId, data: pub })
    return pub
  })
}

/** Only the author edits a comment, and only while they may still write in the project. */
export async function updateComment(
  db: Db,
  userId: string,
  id: string,
  body: string,
  ifMatch?: string | null,
) {
  return db.transaction(async (tx) => {
    const { comment, role } = await commentAccess(tx, id, userId, true)
    if (comment.authorId !== userId) throw forbidden('Only the author may edit a comment')
    requireRole(role, 'editor', 'edit comments')
    checkIfMatch(ifMatch, comment.version)
    const before = toPublicComment(comment)
    if (body === comment.body) return before
    const [after] = await tx
      .update(comments)
      .set({ body, version: sql`${comments.version} + 1`, updatedAt: sql`now()` })
      .where(and(eq(comments.id, id), eq(comments.version, comment.version)))
      .returning()
    if (!after) throw notFound('Comment')
    const pub = toPublicComment(after)
    await recordEvent(tx, {
      type: 'comment.updated',
      projectId: comment.projectId,
      actorId: userId,
      data: pub,
      changes: { body: [comment.body, body] },
    })
    return pub
  })
}

/** The author (while editor or above) or the project owner deletes a comment. */
export async function deleteComment(db: Db, userId: string, id: string, ifMatch?: string | null) {
  await db.transaction(async (tx) => {
    const { comment, role } = await commentAccess(tx, id, userId, true)
    const mayDelete = role === 'owner' || (comment.authorId === userId && hasRole(role, 'editor'))
    if (!mayDelete) throw forbidden('Only the author or the project owner may delete a comment')
    checkIfMatch(ifMatch, comment.version)
    await tx.delete(comments).where(eq(comments.id, id))
    await recordEvent(tx, {
      type: 'comment.deleted',
      projectId: comment.projectId,
      actorId: userId,
      data: toPublicComment(comment),
    })
  })
}
