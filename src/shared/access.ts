import { and, eq, isNull, type SQL, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { prepared } from '../db/prepared'
import { type ProjectRole, projectMembers, projects, tasks } from '../db/schema'
import { forbidden, notFound } from '../lib/errors'

export type ProjectRow = typeof projects.$inferSelect

export interface ProjectAccess {
  project: ProjectRow
  role: ProjectRole
}

const RANK: Record<ProjectRole, number> = { viewer: 0, editor: 1, owner: 2 }

/** True when `role` is at least `min`. */
export const hasRole = (role: ProjectRole, min: ProjectRole) => RANK[role] >= RANK[min]

/** 403 unless the caller's project role is at least `min` (they can see the project, so no 404 here). */
export function requireRole(role: ProjectRole, min: ProjectRole, what = 'do this'): void {
  if (!hasRole(role, min))
    throw forbidden(`Only a project ${min}${min === 'owner' ? '' : ' or above'} may ${what}`)
}

/**
 * The project with the caller's role, in one query. Non-members and soft-deleted projects are a
 * 404 (no existence leak). `lock` takes a row lock on the project (inside a transaction).
 */
export async function projectAccess(
  db: Db,
  projectId: string,
  userId: string,
  opts: { lock?: boolean; where?: SQL } = {},
): Promise<ProjectAccess> {
  if (!opts.lock && !opts.where) {
    const [row] = await prepared(db, 'project_access', (db) =>
      db
        .select({ project: projects, role: projectMembers.role })
        .from(projects)
        .innerJoin(
          projectMembers,
          and(eq(projectMembers.projectId, projects.id), eq(projectMembers.userId, sql.placeholder('user'))),
        )
        .where(and(eq(projects.id, sql.placeholder('project')), isNull(projects.deletedAt)))
        .limit(1)
        .prepare('project_access'),
    ).execute({ user: userId, project: projectId })
    if (!row) throw notFound('Project')
    return row
  }
  const q = db
    .select({ project: projects, role: projectMembers.role })
    .from(projects)
    .innerJoin(
      projectMembers,
      and(eq(projectMembers.projectId, projects.id), eq(projectMembers.userId, userId)),
    )
    .where(and(eq(projects.id, projectId), opts.where ?? isNull(projects.deletedAt)))
    .limit(1)
  const [row] = opts.lock ? await q.for('update', { of: projects }) : await q
  if (!row) throw notFound('Project')
  return row
}

export interface TaskAccess {
  task: typeof tasks.$inferSelect
  role: ProjectRole
}

/**
 * The task with the caller's project role, in one query (task -> live project -> membership).
 * Tasks of projects the caller is not a member of, or that are deleted, are a 404.
 */
export async function taskAccess(db: Db, taskId: string, userId: string, lock = false): Promise<TaskAccess> {
  if (!lock) {
    const [row] = await prepared(db, 'task_access', (db) =>
      db
        .select({ task: tasks, role: projectMembers.role })
        .from(tasks)
        .innerJoin(projects, and(eq(projects.id, tasks.projectId), isNull(projects.deletedAt)))
        .innerJoin(
          projectMembers,
          and(
            eq(projectMembers.projectId, tasks.projectId),
            eq(projectMembers.userId, sql.placeholder('user')),
          ),
        )
        .where(eq(tasks.id, sql.placeholder('task')))
        .limit(1)
        .prepare('task_access'),
    ).execute({ user: userId, task: taskId })
    if (!row) throw notFound('Task')
    return row
  }
  const q = db
    .select({ task: tasks, role: projectMembers.role })
    .from(tasks)
    .innerJoin(projects, and(eq(projects.id, tasks.projectId), isNull(projects.deletedAt)))
    .innerJoin(
      projectMembers,
      and(eq(projectMembers.projectId, tasks.projectId), eq(projectMembers.userId, userId)),
    )
    .where(eq(tasks.id, taskId))
    .limit(1)
  const [row] = lock ? await q.for('update', { of: tasks }) : await q
  if (!row) throw notFound('Task')
  return row
}
