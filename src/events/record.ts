import { type SQL, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { JOBS_CHANNEL } from '../jobs/queue'
import { uuidArray } from '../lib/sql'

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
  'attachment.created',
  'attachment.deleted',
  'webhook.disabled',
  'webhook.ping',
] as const
export type EventType = (typeof EVENT_TYPES)[number]

/** Realtime's wake-up: NOTIFY with the project id as payload when a change of it commits. */
export const EVENTS_CHANNEL = 'taskbase_events'

/** The types realtime sends: API.md's list (the webhook.* ones are the webhooks' own). */
export const PROJECT_EVENT_TYPES: ReadonlySet<string> = new Set(
  EVENT_TYPES.filter((t) => !t.startsWith('webhook.')),
)

/** Sent only to the webhook that was pinged, never dispatched to the others. */
export const PING_EVENT = 'webhook.ping' satisfies EventType

/** The job type of a webhook delivery attempt, and how many attempts the queue allows it at most. */
export const WEBHOOK_JOB = 'webhook'
export const WEBHOOK_JOB_MAX_ATTEMPTS = 100

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
 * The CTEs `dispatched` and `dispatch_jobs` that turn the events of CTE `source` (columns id, type,
 * project_id, seq) into one delivery per enabled matching webhook and one job per delivery. For
 * statements that insert events themselves (task create: one statement, no transaction); select
 * WAKE_WORKERS in the same statement so the workers wake at commit.
 */
export function dispatchCtes(source: SQL): SQL {
  return sql`dispatched as (
      insert into webhook_deliveries (webhook_id, event_id, event_type)
      select w.id, e.id, e.type from ${source} as e
      join webhooks w on w.project_id = e.project_id and w.enabled
        and ('*' = any(w.events) or e.type = any(w.events))
      where e.type <> ${PING_EVENT}
      returning id, webhook_id
    ), dispatch_jobs as (
      insert into jobs (id, type, payload, max_attempts, group_key)
      select gen_random_uuid(), ${WEBHOOK_JOB}, jsonb_build_object('delivery_id', d.id), ${WEBHOOK_JOB_MAX_ATTEMPTS},
        d.webhook_id::text
      from dispatched as d
      returning 1
    )`
}

/** A select-list expression that NOTIFYs the job workers when `dispatch_jobs` queued any (0 or 1). */
export const WAKE_WORKERS = sql`(select count(*) from (select pg_notify(${JOBS_CHANNEL}, ${WEBHOOK_JOB})
  from (select 1 from dispatch_jobs limit 1) as one) as woke) as woke`

/**
 * Writes events in the caller's transaction (pass `tx`): the change and its event commit or roll
 * back together, so the activity feed, webhooks and realtime never see one without the other.
 *
 * The same statement dispatches them: one delivery per enabled webhook of the project whose
 * `events` match, and one job per delivery, waking the workers at commit. Dispatch happens in the
 * change's own transaction, so there is no dispatcher reading the outbox behind the writers and
 * no event can be skipped whatever order transactions commit in; a project without webhooks pays
 * one index probe inside the insert it already made.
 */
export async function recordEvents(tx: Db, list: NewEvent[]): Promise<string[]> {
  if (!list.length) return []
  const ids = list.map(() => Bun.randomUUIDv7())
  const rows = sql.join(
    list.map((e, i) => {
      const data = e.changes ? { ...e.data, changes: e.changes } : e.data
      return sql`(${ids[i]}::uuid, ${e.type}, ${e.projectId}::uuid, ${e.actorId}::uuid, ${JSON.stringify(data)}::jsonb)`
    }),
    sql`, `,
  )
  const projectIds = [...new Set(list.map((e) => e.projectId))].sort()
  // The events' `seq` is drawn only once the project's row is locked (the insert reads from
  // `locked`), and the lock is held until commit: within a project, seq order is commit order, so
  // realtime's cursor (`seq > last`) never passes an event that commits later with a smaller seq.
  await tx.execute(sql`
    with locked as (
      select id from projects where id = any(${uuidArray(projectIds)}) order by id for no key update
    ), e as (
      insert into events (id, type, project_id, actor_id, data)
      select v.id, v.type, v.project_id, v.actor_id, v.data
      from (values ${rows}) as v(id, type, project_id, actor_id, data)
      join locked on locked.id = v.project_id
      returning id, type, project_id, seq
    ), ${dispatchCtes(sql`e`)}
    select ${WAKE_WORKERS}, ${notifyEvents(projectIds)}`)
  return ids
}

/** Select-list expressions that wake realtime on every instance at commit: one NOTIFY per project. */
export function notifyEvents(projectIds: string[]): SQL {
  return sql.join(
    projectIds.map((id, i) => sql`pg_notify(${EVENTS_CHANNEL}, ${id}) as notified_${sql.raw(String(i))}`),
    sql`, `,
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
