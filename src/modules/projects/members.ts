import { and, asc, count, eq, inArray, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { type ProjectRole, projectMembers, tasks, users } from '../../db/schema'
import { recordEvent, recordEvents } from '../../events/record'
import { conflict, fieldError, notFound, validationFailed } from '../../lib/errors'
import { type Page, pageOf } from '../../lib/pagination'
import { isUniqueViolation } from '../../lib/pg-errors'
import { projectAccess, requireRole } from '../../shared/access'
import { toPublicTask } from '../tasks'

const memberUser = { id: users.id, username: users.username, fullName: users.fullName }

export interface MemberRow {
  member: typeof projectMembers.$inferSelect
  user: { id: string; username: string; fullName: string }
}

export function toPublicMember(r: MemberRow) {
  return {
    user: { id: r.user.id, username: r.user.username, full_name: r.user.fullName },
    role: r.member.role,
    added_at: r.member.addedAt.toISOString(),
  }
}
export type PublicMember = ReturnType<typeof toPublicMember>

/** Member events carry the member as the members list shows it. */
export const memberEventData = (r: MemberRow) => toPublicMember(r)

export async function listMembers(db: Db, userId: string, projectId: string, page: Page) {
  await projectAccess(db, projectId, userId)
  const where = eq(projectMembers.projectId, projectId)
  const [rows, [total]] = await Promise.all([
    db
      .select({ member: projectMembers, user: memberUser })
      .from(projectMembers)
      .innerJoin(users, eq(users.id, projectMembers.userId))
      .where(where)
      .orderBy(asc(projectMembers.addedAt), asc(projectMembers.userId))
      .limit(page.pageSize)
      .offset(page.offset),
    db.select({ n: count() }).from(projectMembers).where(where),
  ])
  return pageOf(rows.map(toPublicMember), total?.n ?? 0, page)
}

export interface AddMemberInput {
  user_id: string
  role: 'editor' | 'viewer'
}

/**
 * Adds an existing user by id (they share it from GET /users/me). By id only: adding by email
 * told the owner whether an address is registered. An unknown id is a 422 on user_id.
 */
export async function addMember(db: Db, userId: string, projectId: string, input: AddMemberInput) {
  try {
    return await db.transaction(async (tx) => {
      const { role } = await projectAccess(tx, projectId, userId)
      requireRole(role, 'owner', 'add members')
      const [user] = await tx.select(memberUser).from(users).where(eq(users.id, input.user_id)).limit(1)
      if (!user) throw validationFailed([fieldError('user_id', 'no such user')], 'Request body is invalid')
      const [member] = await tx
        .insert(projectMembers)
        .values({ projectId, userId: user.id, role: input.role })
        .returning()
      const row = { member: member!, user }
      await recordEvent(tx, { type: 'member.added', projectId, actorId: userId, data: memberEventData(row) })
      return toPublicMember(row)
    })
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict('This user is already a member of the project')
    throw e
  }
}

/** One member of a project I am a member of; anyone else's project or a non-member is a 404. */
export async function getMember(db: Db, userId: string, projectId: string, memberId: string) {
  await projectAccess(db, projectId, userId)
  const [row] = await db
    .select({ member: projectMembers, user: memberUser })
    .from(projectMembers)
    .innerJoin(users, eq(users.id, projectMembers.userId))
    .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, memberId)))
    .limit(1)
  if (!row) throw notFound('Member')
  return toPublicMember(row)
}

async function lockedMember(tx: Db, projectId: string, memberId: string): Promise<MemberRow> {
  const [row] = await tx
    .select({ member: projectMembers, user: memberUser })
    .from(projectMembers)
    .innerJoin(users, eq(users.id, projectMembers.userId))
    .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, memberId)))
    .for('update', { of: projectMembers })
  if (!row) throw notFound('Member')
  return row
}

export async function updateMember(
  db: Db,
  userId: string,
  projectId: string,
  memberId: string,
  newRole: Exclude<ProjectRole, 'owner'>,
) {
  return db.transaction(async (tx) => {
    const { role } = await projectAccess(tx, projectId, userId)
    requireRole(role, 'owner', 'change member roles')
    const row = await lockedMember(tx, projectId, memberId)
    if (row.member.role === 'owner')
      throw conflict("The owner's role cannot be changed; transfer the project instead")
    if (row.member.role === newRole) return toPublicMember(row)
    const [member] = await tx
      .update(projectMembers)
      .set({ role: newRole })
      .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, memberId)))
      .returning()
    const after = { member: member!, user: row.user }
    await recordEvent(tx, {
      type: 'member.updated',
      projectId,
      actorId: userId,
      data: memberEventData(after),
      changes: { role: [row.member.role, newRole] },
    })
    return toPublicMember(after)
  })
}

/**
 * The owner removes a member, or a member leaves. The owner can do neither to themselves (409:
 * transfer first). The member's open tasks (not done or canceled) are unassigned in the same
 * transaction, each with its task.updated event.
 */
export async function removeMember(db: Db, userId: string, projectId: string, memberId: string) {
  await db.transaction(async (tx) => {
    const { role } = await projectAccess(tx, projectId, userId)
    if (memberId !== userId) requireRole(role, 'owner', 'remove other members')
    const row = await lockedMember(tx, projectId, memberId)
    if (row.member.role === 'owner')
      throw conflict('The owner cannot leave or be removed; transfer the project first')
    await tx
      .delete(projectMembers)
      .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, memberId)))
    const cleared = await tx
      .update(tasks)
      .set({ assigneeId: null, version: sql`${tasks.version} + 1`, updatedAt: sql`now()` })
      .where(
        and(
          eq(tasks.projectId, projectId),
          eq(tasks.assigneeId, memberId),
          inArray(tasks.status, ['todo', 'in_progress']),
        ),
      )
      .returning()
    await recordEvents(tx, [
      { type: 'member.removed', projectId, actorId: userId, data: memberEventData(row) },
      ...cleared.map((t) => ({
        type: 'task.updated' as const,
        projectId,
        actorId: userId,
        data: toPublicTask(t),
        changes: { assignee_id: [memberId, null] as [unknown, unknown] },
      })),
    ])
  })
}
