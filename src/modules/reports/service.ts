import { and, count, eq, inArray, isNull, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { jobs, projects, TASK_PRIORITIES, TASK_STATUSES, tasks, users } from '../../db/schema'
import { enqueue } from '../../jobs/queue'
import { type JobDefinition, PermanentJobError } from '../../jobs/runner'
import { projectAccess } from '../../shared/access'

export const REPORT_JOB = 'report'
const WEEKS = 12
const OVERDUE_LISTED = 20

/**
 * `POST /projects/{id}/reports`: any member may ask. One report per member and project is queued
 * or running at a time: asking again meanwhile answers with that job (no queue flooding).
 */
export async function requestReport(db: Db, userId: string, projectId: string) {
  await projectAccess(db, projectId, userId)
  const [pending] = await db
    .select()
    .from(jobs)
    .where(
      and(
        eq(jobs.type, REPORT_JOB),
        eq(jobs.requestedBy, userId),
        inArray(jobs.status, ['queued', 'running']),
        sql`${jobs.payload}->>'project_id' = ${projectId}`,
      ),
    )
    .limit(1)
  const job =
    pending ??
    (await enqueue(db, {
      type: REPORT_JOB,
      payload: { project_id: projectId },
      requestedBy: userId,
      maxAttempts: 3,
    }))!
  return { job_id: job.id, status: job.status }
}

const zeroes = <K extends string>(keys: readonly K[]) =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>

const isoDay = (d: Date) => d.toISOString().slice(0, 10)

/**
 * The report: counts by status, priority and assignee, overdue tasks, and tasks completed per
 * week (Monday-based, UTC) for the last 12 weeks — all SQL aggregates, no task is loaded whole.
 */
export async function buildReport(db: Db, projectId: string, now = new Date()) {
  const [project] = await db
    .select({ id: projects.id })
    .from(projects)
    .where(and(eq(projects.id, projectId), isNull(projects.deletedAt)))
  if (!project) throw new PermanentJobError('The project no longer exists')
  const inProject = eq(tasks.projectId, projectId)
  const open = inArray(tasks.status, ['todo', 'in_progress'])
  const overdue = and(
    inProject,
    open,
    sql`${tasks.dueDate} < (${now.toISOString()}::timestamptz at time zone 'UTC')::date`,
  )
  const weekStart = sql`date_trunc('week', ${now.toISOString()}::timestamptz at time zone 'UTC')`
  const [byStatus, byPriority, byAssignee, [overdueCount], overdueTasks, weekly] = await Promise.all([
    db.select({ k: tasks.status, n: count() }).from(tasks).where(inProject).groupBy(tasks.status),
    db.select({ k: tasks.priority, n: count() }).from(tasks).where(inProject).groupBy(tasks.priority),
    db
      .select({ id: tasks.assigneeId, username: users.username, n: count() })
      .from(tasks)
      .leftJoin(users, eq(users.id, tasks.assigneeId))
      .where(inProject)
      .groupBy(tasks.assigneeId, users.username)
      .orderBy(sql`count(*) desc`, tasks.assigneeId),
    db.select({ n: count() }).from(tasks).where(overdue),
    db
      .select({
        id: tasks.id,
        number: tasks.number,
        title: tasks.title,
        due_date: tasks.dueDate,
        assignee_id: tasks.assigneeId,
      })
      .from(tasks)
      .where(overdue)
      .orderBy(tasks.dueDate, tasks.number)
      .limit(OVERDUE_LISTED),
    db
      .select({
        week: sql<string>`to_char(date_trunc('week', ${tasks.completedAt} at time zone 'UTC'), 'YYYY-MM-DD')`,
        n: count(),
      })
      .from(tasks)
      .where(
        and(
          inProject,
          eq(tasks.status, 'done'),
          sql`${tasks.completedAt} at time zone 'UTC' >= ${weekStart} - interval '${sql.raw(String(WEEKS - 1))} weeks'`,
        ),
      )
      .groupBy(sql`1`),
  ])
  const status = zeroes(TASK_STATUSES)
  for (const r of byStatus) status[r.k] = r.n
  const priority = zeroes(TASK_PRIORITIES)
  for (const r of byPriority) priority[r.k] = r.n
  const perWeek = new Map(weekly.map((w) => [w.week, w.n]))
  const monday = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()))
  monday.setUTCDate(monday.getUTCDate() - ((monday.getUTCDay() + 6) % 7))
  const completed_per_week = Array.from({ length: WEEKS }, (_, i) => {
    const d = new Date(monday)
    d.setUTCDate(d.getUTCDate() - 7 * (WEEKS - 1 - i))
    return { week_start: isoDay(d), count: perWeek.get(isoDay(d)) ?? 0 }
  })
  return {
    project_id: projectId,
    generated_at: now.toISOString(),
    tasks_total: byStatus.reduce((a, r) => a + r.n, 0),
    by_status: status,
    by_priority: priority,
    by_assignee: byAssignee.map((r) => ({ assignee_id: r.id, username: r.username, count: r.n })),
    overdue: { count: overdueCount?.n ?? 0, tasks: overdueTasks },
    completed_per_week,
  }
}

export type ProjectReport = Awaited<ReturnType<typeof buildReport>>

export const reportJob = (db: Db): JobDefinition => ({
  type: REPORT_JOB,
  maxAttempts: 3,
  concurrency: 1,
  timeoutMs: 60_000,
  handle: (payload) => buildReport(db, String(payload.project_id)),
})
