import { and, eq, isNull, type SQL, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { prepared } from '../db/prepared'
import { type ProjectRole, projectMembers, projects, tasks } from '../db/schema'
import { AppError, forbidden, notFound } from '../lib/errors'
import type { GroupedCache } from '../lib/grouped-cache'

export type ProjectRow = typeof projects.$inferSelect

export interface ProjectAccess {
  project: ProjectRow
  role: ProjectRole
}

const RANK: Record<ProjectRole, number> = { viewer: 0, editor: 1, owner: 2 }

/** True when `role` is at least `min`. */
export const hasRole = (role: ProjectRole, min: ProjectRole) => RANK[role] >= RANK[min]

/** The roles that are at least `min` (for a check made in SQL). */
export const rolesAtLeast = (min: ProjectRole) =>
  (Object.keys(RANK) as ProjectRole[]).filter((role) => hasRole(role, min))

/** 403 unless the caller's project role is at least `min` (they can see the project, so no 404 here). */
export function requireRole(role: ProjectRole, min: ProjectRole, what = 'do this'): void {
  if (!hasRole(role, min))
    throw forbidden(`Only a project ${min}${min === 'owner' ? '' : ' or above'} may ${what}`)
}

/** Where the database announces project and membership changes (drizzle/0006_change_notifications.sql). */
export const PROJECTS_CHANNEL = 'taskbase_projects'

/** Access caches by root database handle: a transaction is another handle, and never uses one. */
const accessCaches = new WeakMap<object, GroupedCache<ProjectAccess>>()

/**
 * The embedded server's cache of project access (issue 15), grouped by project: exact because one
 * process owns the database and a trigger NOTIFYs every change to a project row or a membership,
 * which PGlite delivers before the writing call returns. Only reads outside a transaction use it.
 */
export function cacheProjectAccess(db: Db, cache: GroupedCache<ProjectAccess> | undefined) {
  if (cache) accessCaches.set(db, cache)
  else accessCaches.delete(db)
}

/**
 * The project with the caller's role, in one query (none when the embedded server has it cached).
 * Non-members and soft-deleted projects are a 404 (no existence leak). `lock` takes a row lock on
 * the project (inside a transaction).
 */
export async function projectAccess(
  db: Db,
  projectId: string,
  userId: string,
  opts: { lock?: boolean; where?: SQL } = {},
): Promise<ProjectAccess> {
  if (!opts.lock && !opts.where) {
    const cache = accessCaches.get(db)
    const key = `${projectId}:${userId}`
    const hit = cache?.get(key)
    // a copy: callers may change what they get
    if (hit) return { project: { ...hit.project }, role: hit.role }
    const mark = cache?.mark() ?? 0
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
    cache?.set(key, { project: { ...row.project }, role: row.role }, mark)
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
  // the embedded server: the task by its key, the access from the cache (PGlite runs the plain
  // lookup in about half the time of the three-table join)
  if (!lock && accessCaches.has(db)) return cachedTaskAccess(db, taskId, userId)
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

async function cachedTaskAccess(db: Db, taskId: string, userId: string): Promise<TaskAccess> {
  const [task] = await prepared(db, 'task_by_id', (db) =>
    db
      .select()
      .from(tasks)
      .where(eq(tasks.id, sql.placeholder('task')))
      .limit(1)
      .prepare('task_by_id'),
  ).execute({ task: taskId })
  if (!task) throw notFound('Task')
  // a task of a project the caller cannot see is a 404 on the task, as in the join
  try {
    return { task, role: (await projectAccess(db, task.projectId, userId)).role }
  } catch (err) {
    throw err instanceof AppError && err.status === 404 ? notFound('Task') : err
  }
}
