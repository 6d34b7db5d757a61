import { and, count, desc, eq, inArray, isNull } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { events, projectMembers, projects } from '../../db/schema'
import { toPublicEvent } from '../../events/model'
import { type Page, pageOf } from '../../lib/pagination'
import { projectAccess } from '../../shared/access'

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
