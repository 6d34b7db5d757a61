import { and, count, eq, inArray, isNull, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { projectMembers, projects, tasks } from '../../db/schema'
import { diff, recordEvent } from '../../events/record'
import { fieldError, notFound, validationFailed } from '../../lib/errors'
import { checkIfMatch } from '../../lib/etag'
import { type Page, pageOf } from '../../lib/pagination'
import { projectAccess, requireRole, taskAccess } from '../../shared/access'
import { statusMove } from './counts'
import { insertTask } from './create-batch'
import { type PublicTask, TASK_EVENT_FIELDS, type TaskRow, toPublicTask } from './mapper'
import type { TaskCreate, TaskFilters, TaskUpdate } from './model'
import { isRealDate, parseTaskSort, type TaskSort, taskFilters, taskOrder } from './query'

const validDueDate = (v: string | null | undefined) => !v || isRealDate(v)

function checkDueDate(v: string | null | undefined) {
  if (!validDueDate(v))
    throw validationFailed(
      [fieldError('due_date', 'must be a real date YYYY-MM-DD')],
      'Request body is invalid',
    )
}

/** Labels after cleaning: no duplicates, original order. */
const uniqueLabels = (labels: string[]) => [...new Set(labels)]

async function checkAssignee(tx: Db, projectId: string, assigneeId: string | null | undefined) {
  if (!assigneeId) return
  const [m] = await tx
    .select({ role: projectMembers.role })
    .from(projectMembers)
    .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, assigneeId)))
    .limit(1)
  if (!m)
    throw validationFailed(
      [fieldError('assignee_id', 'must be a member of the project')],
      'Request body is invalid',
    )
}

export async function createTask(
  db: Db,
  userId: string,
  projectId: string,
  input: TaskCreate,
): Promise<PublicTask> {
  // Without an assignee to check and with a valid body, the statement below checks the caller's
  // role itself (one round trip); otherwise access comes first, so an outsider learns nothing
  // from the body's checks (a 404 before any 422).
  const oneStatement = !input.assignee_id && validDueDate(input.due_date)
  if (!oneStatement) {
    const { role } = await projectAccess(db, projectId, userId)
    requireRole(role, 'editor', 'create tasks')
    checkDueDate(input.due_date)
    await checkAssignee(db, projectId, input.assignee_id)
  }
  const now = new Date()
  const status = input.status ?? 'todo'
  const row: TaskRow = {
    id: Bun.randomUUIDv7(),
    projectId,
    number: 0, // set by the database below
    title: input.title,
    description: input.description ?? '',
    status,
    priority: input.priority ?? 'medium',
    priorityRank: 0, // generated column, not public
    assigneeId: input.assignee_id ?? null,
    labels: uniqueLabels(input.labels ?? []),
    dueDate: input.due_date ?? null,
    completedAt: status === 'done' ? now : null,
    createdBy: userId,
    createdAt: now,
    updatedAt: now,
    version: 1,
  }
  const pub = toPublicTask(row)
  const number = await insertTask(db, { row, pub, eventId: Bun.randomUUIDv7() })
  if (number === null) {
    // nothing was written: say why (404 for a project the caller cannot see, 403 for a viewer)
    const { role } = await projectAccess(db, projectId, userId)
    requireRole(role, 'editor', 'create tasks')
    throw notFound('Project')
  }
  return { ...pub, number }
}

export async function getTask(db: Db, userId: string, taskId: string): Promise<PublicTask> {
  return toPublicTask((await taskAccess(db, taskId, userId)).task)
}

export async function updateTask(
  db: Db,
  userId: string,
  taskId: string,
  input: TaskUpdate,
  ifMatch?: string | null,
): Promise<PublicTask> {
  checkDueDate(input.due_date)
  return db.transaction(async (tx) => {
    const { task, role } = await taskAccess(tx, taskId, userId, true)
    requireRole(role, 'editor', 'change tasks')
    checkIfMatch(ifMatch, task.version)
    const patch: Partial<typeof tasks.$inferInsert> = {}
    if (input.title !== undefined) patch.title = input.title
    if (input.description !== undefined) patch.description = input.description
    if (input.priority !== undefined) patch.priority = input.priority
    if (input.labels !== undefined) patch.labels = uniqueLabels(input.labels)
    if (input.due_date !== undefined) patch.dueDate = input.due_date
    if (input.assignee_id !== undefined && input.assignee_id !== task.assigneeId) {
      await checkAssignee(tx, task.projectId, input.assignee_id)
      patch.assigneeId = input.assignee_id
    }
    if (input.status !== undefined && input.status !== task.status) {
      patch.status = input.status
      if (input.status === 'done') patch.completedAt = new Date()
      else if (task.status === 'done') patch.completedAt = null
    }
    const before = toPublicTask(task)
    const changes = diff(
      before,
      { ...before, ...toPublicTask({ ...task, ...patch } as TaskRow) },
      TASK_EVENT_FIELDS,
    )
    if (!Object.keys(changes).length) return before
    const [after] = await tx
      .update(tasks)
      .set({ ...patch, version: sql`${tasks.version} + 1`, updatedAt: sql`now()` })
      .where(and(eq(tasks.id, taskId), eq(tasks.version, task.version)))
      .returning()
    if (!after) throw notFound('Task')
    const pub = toPublicTask(after)
    await recordEvent(tx, {
      type: 'task.updated',
      projectId: task.projectId,
      actorId: userId,
      data: pub,
      changes,
    })
    // the project's row lock (its status counters) is taken last: held only until the commit
    if (patch.status)
      await tx
        .update(projects)
        .set(statusMove(task.status, patch.status))
        .where(eq(projects.id, task.projectId))
    return pub
  })
}

export async function deleteTask(db: Db, userId: string, taskId: string, ifMatch?: string | null) {
  await db.transaction(async (tx) => {
    const { task, role } = await taskAccess(tx, taskId, userId, true)
    requireRole(role, 'editor', 'delete tasks')
    checkIfMatch(ifMatch, task.version)
    await tx.delete(tasks).where(eq(tasks.id, taskId))
    await recordEvent(tx, {
      type: 'task.deleted',
      projectId: task.projectId,
      actorId: userId,
      data: toPublicTask(task),
    })
    // the project's row lock (its counters) is taken last: held only until the commit
    await tx.update(projects).set(statusMove(task.status, null)).where(eq(projects.id, task.projectId))
  })
}

async function pageTasks(db: Db, where: ReturnType<typeof and>, sort: TaskSort, page: Page) {
  const [rows, total] = await Promise.all([
    db
      .select()
      .from(tasks)
      .where(where)
      .orderBy(...taskOrder(sort))
      .limit(page.pageSize)
      .offset(page.offset),
    db
      .select({ n: count() })
      .from(tasks)
      .where(where)
      .then(([r]) => r?.n ?? 0),
  ])
  return pageOf(rows.map(toPublicTask), total, page)
}

/** Projects the user is a member of that are not deleted (a subquery). */
export const myProjectIds = (db: Db, userId: string) =>
  db
    .select({ id: projectMembers.projectId })
    .from(projectMembers)
    .innerJoin(projects, and(eq(projects.id, projectMembers.projectId), isNull(projects.deletedAt)))
    .where(eq(projectMembers.userId, userId))

/** Tasks assigned to me across my live projects, with the task-list filters and sort. */
export async function listMyTasks(db: Db, userId: string, q: TaskFilters & { sort?: string }, page: Page) {
  const { assignee_id: _ignored, ...filters } = q
  const where = and(
    eq(tasks.assigneeId, userId),
    inArray(tasks.projectId, myProjectIds(db, userId)),
    ...taskFilters(filters, userId),
  )
  return pageTasks(db, where, parseTaskSort(q.sort), page)
}
