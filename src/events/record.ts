import type { Db } from '../db/client'
import { events } from '../db/schema'

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
