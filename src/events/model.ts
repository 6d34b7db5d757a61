import { t } from 'elysia'
import type { events } from '../db/schema'
import { pageSchema } from '../lib/pagination'
import { literals } from '../lib/schema'
import { EVENT_TYPES, type EventType } from './record'

type EventRow = typeof events.$inferSelect
const Uuid = t.String({ format: 'uuid' })
const Time = () => t.String({ format: 'date-time' })

/** An event as the API shows it (activity feed, dashboard; webhooks and realtime will send the same). */
export const Event = t.Object({
  id: Uuid,
  type: literals(EVENT_TYPES),
  project_id: Uuid,
  actor_id: t.Union([Uuid, t.Null()]),
  occurred_at: Time(),
  data: t.Record(t.String(), t.Unknown()),
})
export const EventList = pageSchema(Event)

export function toPublicEvent(e: EventRow) {
  return {
    id: e.id,
    type: e.type as EventType,
    project_id: e.projectId,
    actor_id: e.actorId,
    occurred_at: e.occurredAt.toISOString(),
    data: e.data as Record<string, unknown>,
  }
}
