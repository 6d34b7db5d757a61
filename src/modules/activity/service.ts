import { and, count, desc, eq, inArray, isNull } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { events, projectMembers, projects } from '../../db/schema'
import { type Page, pageOf } from '../../lib/pagination'
import { projectAccess } from '../projects/access'

export const EVENT_TYPES = [
  'project.updated',
  'project.deleted',
  'project.restored',
  'member.added',
  'member.updated',
  'member.removed',
  'task.created',
  'task.updated',
  'task.deleted',
  'comment.created',
  'comment.updated',
  'comment.deleted',
] as const
export type EventType = (typeof EVENT_TYPES)[number]

/** field -> [old, new], only for fields that changed. */
export type Changes = Record<string, [unknown, unknown]>

export interface NewEvent {
  type: EventType
  projectId: string
  actorId: string | null
  /** The resource after the change (before it, for deletions). */
  data: Record<string, unknown>
  changes?: Changes
}

type EventRow = typeof events.$inferSelect

/**
 * Writes events in the caller's transaction (pass `tx`): the change and its event commit or roll
 * back together, so the activity feed, webhooks and realtime never see one without the other.
 */
export async function recordEvents(tx: Db, list: NewEvent[]): Promise<void> {
  if (!list.length) return
  await tx.insert(events).values(
    list.map((e) => ({
      type: e.type,
      projectId: e.projectId,
      actorId: e.actorId,
      data: e.changes ? { ...e.data, changes: e.changes } : e.data,
    })),
  )
}

export const recordEvent = (tx: Db, e: NewEvent) => recordEvents(tx, [e])

/** Compares `before` and `after` over `fields` (public names); returns only what changed. */
export function diff<T extends Record<string, unknown>>(
  before: T,
  after: T,
  fields: readonly (keyof T)[],
): Changes {
  const out: Changes = {}
  for (const f of fields) {
    const a = before[f]
    const b = after[f]
    if (JSON.stringify(a) !== JSON.stringify(b)) out[f as string] = [a, b]
  }
  return out
}

export function toPublicEvent(e: EventRow) {
  return {
    id: e.id,
    type: e.type,
    project_id: e.projectId,
    actor_id: e.actorId,
    occurred_at: e.occurredAt.toISOString(),
    data: e.data as Record<string, unknown>,
  }
}

/** The project's events, newest first (members only). */
export async function listActivity(db: Db, userId: string, projectId: string, page: Page) {
  await projectAccess(db, projectId, userId)
  const where = eq(events.projectId, projectId)
  const [rows, [total]] = await Promise.all([
    db.select().from(events).where(where).orderBy(desc(events.seq)).limit(page.pageSize).offset(page.offset),
    db.select({ n: count() }).from(events).where(where),
  ])
  return pageOf(rows.map(toPublicEvent), total?.n ?? 0, page)
}

/** The newest events of every live project the user is a member of (dashboard). */
export async function recentActivity(db: Db, userId: string, limit: number) {
  const mine = db
    .select({ id: projectMembers.projectId })
    .from(projectMembers)
    .innerJoin(projects, eq(projects.id, projectMembers.projectId))
    .where(and(eq(projectMembers.userId, userId), isNull(projects.deletedAt)))
  const rows = await db
    .select()
    .from(events)
    .where(inArray(events.projectId, mine))
    .orderBy(desc(events.seq))
    .limit(limit)
  return rows.map(toPublicEvent)
}
