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
