import { t } from 'elysia'
import { DELIVERY_STATUSES, type webhookDeliveries, type webhooks } from '../../db/schema'
import { EVENT_TYPES, PING_EVENT } from '../../events/record'
import { PageOnlyQuery, pageSchema } from '../../lib/pagination'
import { Int, literals } from '../../lib/schema'

/** The types a webhook can subscribe to (a ping goes to the pinged webhook only). */
export const SUBSCRIBABLE_TYPES = EVENT_TYPES.filter((e) => e !== PING_EVENT)
export const MAX_WEBHOOKS_PER_PROJECT = 20

const Uuid = t.String({ format: 'uuid' })
const Time = t.String({ format: 'date-time' })
const NullableTime = t.Union([Time, t.Null()])
const url = t.String({
  minLength: 1,
  maxLength: 2_048,
  description: 'Where deliveries are POSTed: https (plain http outside production); never a private address',
  examples: ['https://example.com/hooks/taskbase'],
})
const events = t.Array(t.Union([literals(SUBSCRIBABLE_TYPES), t.Literal('*')]), {
  minItems: 1,
  maxItems: SUBSCRIBABLE_TYPES.length,
  uniqueItems: true,
  description: 'Event types to deliver, or `["*"]` for all',
})
const description = t.String({ maxLength: 500 })

const webhookFields = {
  id: Uuid,
  project_id: Uuid,
  url: t.String(),
  events: t.Array(t.String()),
  description: t.String(),
  enabled: t.Boolean(),
  disabled_reason: t.Union([t.String(), t.Null()], {
    description: 'Why delivery stopped by itself (failing for 24 h straight); null otherwise',
  }),
  failing_since: t.Union([Time, t.Null()], {
    description: 'Since when every attempt has failed; null after a success',
  }),
  created_at: Time,
  updated_at: Time,
  version: Int(),
}

export const WebhookModel = {
  params: t.Object({ id: Uuid }),
  pageQuery: PageOnlyQuery,
  create: t.Object({ url, events, description: t.Optional(description) }, { additionalProperties: false }),
  update: t.Object(
    {
      url: t.Optional(url),
      events: t.Optional(events),
      description: t.Optional(description),
      enabled: t.Optional(t.Boolean()),
    },
    { additionalProperties: false, minProperties: 1 },
  ),
  webhook: t.Object(webhookFields),
  withSecret: t.Object({
    ...webhookFields,
    secret: t.String({
      description: 'The signing secret (`whsec_…`), shown only in this response',
      examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    }),
  }),
  delivery: t.Object({
    id: Uuid,
    webhook_id: Uuid,
    event_id: t.String({ format: 'uuid', description: 'Also the `webhook-id` header of every attempt' }),
    event_type: t.String(),
    status: literals(DELIVERY_STATUSES),
    attempts: Int(),
    last_status_code: t.Union([Int(), t.Null()]),
    last_error: t.Union([t.String(), t.Null()]),
    last_response: t.Union([t.String(), t.Null()], {
      description: 'The first 1 KiB of the last response body',
    }),
    duration_ms: t.Union([Int(), t.Null()]),
    next_attempt_at: NullableTime,
    created_at: Time,
    updated_at: Time,
  }),
}
export const WebhookList = pageSchema(WebhookModel.webhook)
export const DeliveryList = pageSchema(WebhookModel.delivery)

type WebhookRow = typeof webhooks.$inferSelect
type DeliveryRow = typeof webhookDeliveries.$inferSelect

export function toPublicWebhook(w: WebhookRow) {
  return {
    id: w.id,
    project_id: w.projectId,
    url: w.url,
    events: w.events,
    description: w.description,
    enabled: w.enabled,
    disabled_reason: w.disabledReason,
    failing_since: w.failingSince?.toISOString() ?? null,
    created_at: w.createdAt.toISOString(),
    updated_at: w.updatedAt.toISOString(),
    version: w.version,
  }
}

export function toPublicDelivery(d: DeliveryRow) {
  return {
    id: d.id,
    webhook_id: d.webhookId,
    event_id: d.eventId,
    event_type: d.eventType,
    status: d.status,
    attempts: d.attempts,
    last_status_code: d.lastStatusCode,
    last_error: d.lastError,
    last_response: d.lastResponse,
    duration_ms: d.durationMs,
    next_attempt_at: d.nextAttemptAt?.toISOString() ?? null,
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
  }
}
