import { sql } from 'drizzle-orm'
import { boolean, check, index, integer, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { id, oneOf, timestamps, tstz, version } from './columns'
import { users } from './identity'
import { events, projects } from './projects'

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number]

/**
 * A project's webhook endpoints. The signing secret is stored encrypted (AES-256-GCM under a key
 * derived from SECRET_KEY): a database dump alone cannot forge deliveries. During a rotation the
 * previous secret signs too until `previous_secret_until`.
 */
export const webhooks = pgTable(
  'webhooks',
  {
    id: id(),
    projectId: uuid()
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    url: text().notNull(),
    /** Event types delivered, or `{*}` for all. */
    events: text().array().notNull(),
    description: text().notNull().default(''),
    enabled: boolean().notNull().default(true),
    secret: text().notNull(),
    previousSecret: text(),
    previousSecretUntil: tstz(),
    /** Since when every attempt has failed (null after a success); 24 h of it disables the endpoint. */
    failingSince: tstz(),
    disabledReason: text(),
    createdBy: uuid().references(() => users.id, { onDelete: 'set null' }),
    ...timestamps,
    version: version(),
  },
  (t) => [index('webhooks_project_id_idx').on(t.projectId)],
)

/** One event for one endpoint: its attempts are jobs of type `webhook` on the job queue. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid().primaryKey().default(sql`gen_random_uuid()`),
    webhookId: uuid()
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    eventId: uuid()
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    eventType: text().notNull(),
    status: text().$type<DeliveryStatus>().notNull().default('pending'),
    attempts: integer().notNull().default(0),
    lastStatusCode: integer(),
    lastError: text(),
    /** The first 1 KiB of the last response body. */
    lastResponse: text(),
    durationMs: integer(),
    nextAttemptAt: tstz().defaultNow(),
    createdAt: tstz().notNull().defaultNow(),
    updatedAt: tstz().notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_webhook_event_key').on(t.webhookId, t.eventId),
    index('webhook_deliveries_webhook_created_idx').on(t.webhookId, t.createdAt),
    index('webhook_deliveries_event_id_idx').on(t.eventId),
    index('webhook_deliveries_finished_idx').on(t.updatedAt).where(sql`${t.status} <> 'pending'`),
    check('webhook_deliveries_status_check', oneOf(t.status, DELIVERY_STATUSES)),
  ],
)
