import { and, asc, count, eq, gte, inArray, isNull, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { projectMembers, projects, tasks } from '../../db/schema'
import { recentActivity } from '../activity'
import { myProjectIds, todayUtc, toPublicTask } from '../tasks'

const OPEN = ['todo', 'in_progress'] as const

/** My numbers at a glance; the four independent queries run concurrently. */
export async function dashboard(db: Db, userId: string) {
  const today = todayUtc()
  const mine = and(eq(tasks.assigneeId, userId), inArray(tasks.projectId, myProjectIds(db, userId)))
  const [[projectsTotal], [counts], dueSoon, activity] = await Promise.all([
    db
      .select({ n: count() })
      .from(projectMembers)
      .innerJoin(projects, and(eq(projects.id, projectMembers.projectId), isNull(projects.deletedAt)))
      .where(eq(projectMembers.userId, userId)),
    db
      .select({
        todo: sql<number>`count(*) filter (where ${tasks.status} = 'todo')`.mapWith(Number),
        in_progress: sql<number>`count(*) filter (where ${tasks.status} = 'in_progress')`.mapWith(Number),
        done: sql<number>`count(*) filter (where ${tasks.status} = 'done')`.mapWith(Number),
        canceled: sql<number>`count(*) filter (where ${tasks.status} = 'canceled')`.mapWith(Number),
        overdue:
          sql<number>`count(*) filter (where ${tasks.status} in ('todo', 'in_progress') and ${tasks.dueDate} < ${today})`.mapWith(
            Number,
          ),
      })
      .from(tasks)
      .where(mine),
    db
      .select()
      .from(tasks)
      .where(and(mine, inArray(tasks.status, [...OPEN]), gte(tasks.dueDate, today)))
      .orderBy(asc(tasks.dueDate), asc(tasks.id))
      .limit(5),
    recentActivity(db, userId, 10),
  ])
  const byStatus = {
    todo: counts?.todo ?? 0,
    in_progress: counts?.in_progress ?? 0,
    done: counts?.done ?? 0,
    canceled: counts?.canceled ?? 0,
  }
  return {
    projects_total: projectsTotal?.n ?? 0,
    tasks_assigned_open: byStatus.todo + byStatus.in_progress,
    tasks_overdue: counts?.overdue ?? 0,
    tasks_by_status: byStatus,
    due_soon: dueSoon.map(toPublicTask),
    recent_activity: activity,
  }
}
