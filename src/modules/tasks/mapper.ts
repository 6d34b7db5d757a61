import type { tasks } from '../../db/schema'

export type TaskRow = typeof tasks.$inferSelect

export function toPublicTask(t: TaskRow) {
  return {
    id: t.id,
    project_id: t.projectId,
    number: t.number,
    title: t.title,
    description: t.description,
    status: t.status,
    priority: t.priority,
    assignee_id: t.assigneeId,
    labels: t.labels,
    due_date: t.dueDate,
    completed_at: t.completedAt ? t.completedAt.toISOString() : null,
    created_by: t.createdBy,
    created_at: t.createdAt.toISOString(),
    updated_at: t.updatedAt.toISOString(),
    version: t.version,
  }
}
export type PublicTask = ReturnType<typeof toPublicTask>

type Json<T> = {
  [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K]
}
type SnakeCase<S extends string> = S extends `${infer H}${infer R}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${SnakeCase<R>}`
  : S
/** The JSON PostgreSQL makes of a task row: column names, timestamps as text. */
export type TaskJson = { [K in keyof TaskRow as SnakeCase<K & string>]: Json<TaskRow>[K] }

/** A task row from `to_json(tasks)` (snake_case, timestamps as text), as the driver would give it. */
export function taskFromJson(o: TaskJson): TaskRow {
  return {
    id: o.id,
    projectId: o.project_id,
    number: o.number,
    title: o.title,
    description: o.description,
    status: o.status,
    priority: o.priority,
    priorityRank: o.priority_rank,
    assigneeId: o.assignee_id,
    labels: o.labels,
    dueDate: o.due_date,
    completedAt: o.completed_at === null ? null : new Date(o.completed_at),
    createdBy: o.created_by,
    createdAt: new Date(o.created_at),
    updatedAt: new Date(o.updated_at),
    version: o.version,
  }
}

export const TASK_EVENT_FIELDS = [
  'title',
  'description',
  'status',
  'priority',
  'assignee_id',
  'labels',
  'due_date',
  'completed_at',
] as const
