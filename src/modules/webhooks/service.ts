import { and, count, desc, eq, isNull, sql } from 'drizzle-orm'
import type { Settings } from '../../config'
import type { Db } from '../../db/client'
import { type ProjectRole, projectMembers, projects, webhookDeliveries, webhooks } from '../../db/schema'
import { PING_EVENT, recordEvent, WEBHOOK_JOB, WEBHOOK_JOB_MAX_ATTEMPTS } from '../../events/record'
import { enqueue } from '../../jobs/queue'
import { conflict, fieldError, notFound, validationFailed } from '../../lib/errors'
import { checkIfMatch } from '../../lib/etag'
import { type Page, pageOf } from '../../lib/pagination'
import { inBatches } from '../../lib/purge'
import { projectAccess, requireRole } from '../../shared/access'
import { MAX_WEBHOOKS_PER_PROJECT, toPublicDelivery, toPublicWebhook } from './model'
import { generateSecret, sealSecret } from './secrets'
import { type GuardOptions, resolveTarget, UrlRefused } from './url-guard'

type WebhookRow = typeof webhooks.$inferSelect

export interface WebhookCtx {
  db: Db
  settings: Settings
  /** Name resolution for the URL guard (default: the system resolver). */
  resolve?: GuardOptions['resolve']
}

/** The URL guard as the settings configure it (also used at delivery time). */
export const guardOptions = (settings: Settings, resolve?: GuardOptions['resolve']): GuardOptions => ({
  allowPrivate: settings.WEBHOOK_ALLOW_PRIVATE,
  httpsOnly: settings.ENVIRONMENT === 'production',
  resolve,
})

/** 422 naming `url` unless the URL is allowed and resolves to allowed addresses. */
async function checkUrl(ctx: WebhookCtx, url: string): Promise<string> {
  try {
    return (await resolveTarget(url, guardOptions(ctx.settings, ctx.resolve))).url.toString()
  } catch (err) {
    if (err instanceof UrlRefused)
      throw validationFailed([fieldError('url', err.message)], `The URL ${err.message}`)
    throw err
  }
}

function checkEvents(events: string[] | undefined) {
  if (events?.includes('*') && events.length > 1)
    throw validationFailed([fieldError('events', '"*" means every type and stands alone')])
}

/** The webhook's project is live and the caller is a member of it (the joins of both accesses). */
const liveProject = and(eq(projects.id, webhooks.projectId), isNull(projects.deletedAt))
const memberOf = (userId: string) =>
  and(eq(projectMembers.projectId, webhooks.projectId), eq(projectMembers.userId, userId))
const ownerOnly = (role: ProjectRole) => requireRole(role, 'owner', 'manage webhooks')

/** The webhook and the caller's role in its live project (404 for non-members); owner only. */
async function webhookAccess(db: Db, id: string, userId: string, lock = false) {
  const q = db
    .select({ webhook: webhooks, role: projectMembers.role })
    .from(webhooks)
    .innerJoin(projects, liveProject)
    .innerJoin(projectMembers, memberOf(userId))
    .where(eq(webhooks.id, id))
    .limit(1)
  const [row] = lock ? await q.for('update', { of: webhooks }) : await q
  if (!row) throw notFound('Webhook')
  ownerOnly(row.role)
  return row.webhook
}

/** A delivery, locked, reached through its webhook's project the same way, in one query. */
async function deliveryAccess(tx: Db, id: string, userId: string) {
  const [row] = await tx
    .select({ delivery: webhookDeliveries, role: projectMembers.role })
    .from(webhookDeliveries)
    .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .innerJoin(projects, liveProject)
    .innerJoin(projectMembers, memberOf(userId))
    .where(eq(webhookDeliveries.id, id))
    .limit(1)
    .for('update', { of: webhookDeliveries })
  if (!row) throw notFound('Delivery')
  ownerOnly(row.role)
  return row.delivery
}

export async function createWebhook(
  ctx: WebhookCtx,
  userId: string,
  projectId: string,
  body: { url: string; events: string[]; description?: string },
) {
  ownerOnly((await projectAccess(ctx.db, projectId, userId)).role)
  checkEvents(body.events)
  const url = await checkUrl(ctx, body.url)
  const secret = generateSecret()
  return ctx.db.transaction(async (tx) => {
    await projectAccess(tx, projectId, userId, { lock: true })
    const [existing] = await tx.select({ n: count() }).from(webhooks).where(eq(webhooks.projectId, projectId))
    if ((existing?.n ?? 0) >= MAX_WEBHOOKS_PER_PROJECT)
      throw conflict(`A project has at most ${MAX_WEBHOOKS_PER_PROJECT} webhooks`)
    const [row] = await tx
      .insert(webhooks)
      .values({
        projectId,
        url,
        events: body.events,
        description: body.description ?? '',
        secret: sealSecret(secret, ctx.settings.SECRET_KEY),
        createdBy: userId,
      })
      .returning()
    return { ...toPublicWebhook(row!), secret }
  })
}

export async function listWebhooks(ctx: WebhookCtx, userId: string, projectId: string, page: Page) {
  ownerOnly((await projectAccess(ctx.db, projectId, userId)).role)
  const where = eq(webhooks.projectId, projectId)
  const [rows, [total]] = await Promise.all([
    ctx.db
      .select()
      .from(webhooks)
      .where(where)
      .orderBy(webhooks.createdAt, webhooks.id)
      .limit(page.pageSize)
      .offset(page.offset),
    ctx.db.select({ n: count() }).from(webhooks).where(where),
  ])
  return pageOf(rows.map(toPublicWebhook), total?.n ?? 0, page)
}

export async function getWebhook(ctx: WebhookCtx, userId: string, id: string) {
  return toPublicWebhook(await webhookAccess(ctx.db, id, userId))
}

export async function updateWebhook(
  ctx: WebhookCtx,
  userId: string,
  id: string,
  body: { url?: string; events?: string[]; description?: string; enabled?: boolean },
  ifMatch?: string | null,
) {
  checkEvents(body.events)
  const url = body.url === undefined ? undefined : await checkUrl(ctx, body.url)
  return ctx.db.transaction(async (tx) => {
    const current = await webhookAccess(tx, id, userId, true)
    checkIfMatch(ifMatch, current.version)
    const changes: Partial<typeof webhooks.$inferInsert> = {}
    if (url !== undefined && url !== current.url) changes.url = url
    if (body.events && JSON.stringify(body.events) !== JSON.stringify(current.events))
      changes.events = body.events
    if (body.description !== undefined && body.description !== current.description)
      changes.description = body.description
    if (body.enabled !== undefined && body.enabled !== current.enabled) {
      changes.enabled = body.enabled
      // enabled again by its owner: its failure streak starts over
      if (body.enabled) Object.assign(changes, { failingSince: null, disabledReason: null })
    }
    if (!Object.keys(changes).length) return toPublicWebhook(current)
    const [row] = await tx
      .update(webhooks)
      .set({ ...changes, version: sql`${webhooks.version} + 1`, updatedAt: sql`now()` })
      .where(eq(webhooks.id, id))
      .returning()
    return toPublicWebhook(row!)
  })
}

export async function deleteWebhook(ctx: WebhookCtx, userId: string, id: string, ifMatch?: string | null) {
  await ctx.db.transaction(async (tx) => {
    const current = await webhookAccess(tx, id, userId, true)
    checkIfMatch(ifMatch, current.version)
    // its deliveries go with it (cascade); their queued jobs find nothing and end
    await tx.delete(webhooks).where(eq(webhooks.id, id))
  })
}

/**
 * A new secret, returned once. The previous one keeps signing for 24 h (deliveries carry both
 * signatures), so a receiver can switch keys without dropping any delivery.
 */
export async function rotateSecret(ctx: WebhookCtx, userId: string, id: string, now = new Date()) {
  const secret = generateSecret()
  return ctx.db.transaction(async (tx) => {
    const current = await webhookAccess(tx, id, userId, true)
    const [row] = await tx
      .update(webhooks)
      .set({
        secret: sealSecret(secret, ctx.settings.SECRET_KEY),
        previousSecret: current.secret,
        previousSecretUntil: new Date(now.getTime() + ROTATION_OVERLAP_MS),
        version: sql`${webhooks.version} + 1`,
        updatedAt: sql`now()`,
      })
      .where(eq(webhooks.id, id))
      .returning()
    return { ...toPublicWebhook(row!), secret }
  })
}
export const ROTATION_OVERLAP_MS = 24 * 3_600_000

async function queueAttempts(tx: Db, deliveryId: string, webhookId: string) {
  await enqueue(tx, {
    type: WEBHOOK_JOB,
    payload: { delivery_id: deliveryId },
    maxAttempts: WEBHOOK_JOB_MAX_ATTEMPTS,
    groupKey: webhookId,
  })
}

/** Queues a `webhook.ping` event for this webhook alone (also while it is disabled). */
export async function pingWebhook(ctx: WebhookCtx, userId: string, id: string) {
  return ctx.db.transaction(async (tx) => {
    const webhook = await webhookAccess(tx, id, userId)
    const [eventId] = await recordEvent(tx, {
      type: PING_EVENT,
      projectId: webhook.projectId,
      actorId: userId,
      data: { webhook_id: webhook.id, url: webhook.url },
    })
    const [delivery] = await tx
      .insert(webhookDeliveries)
      .values({ webhookId: webhook.id, eventId: eventId!, eventType: PING_EVENT })
      .returning()
    await queueAttempts(tx, delivery!.id, webhook.id)
    return toPublicDelivery(delivery!)
  })
}

export async function listDeliveries(ctx: WebhookCtx, userId: string, webhookId: string, page: Page) {
  await webhookAccess(ctx.db, webhookId, userId)
  const where = eq(webhookDeliveries.webhookId, webhookId)
  const [rows, [total]] = await Promise.all([
    ctx.db
      .select()
      .from(webhookDeliveries)
      .where(where)
      .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
      .limit(page.pageSize)
      .offset(page.offset),
    ctx.db.select({ n: count() }).from(webhookDeliveries).where(where),
  ])
  return pageOf(rows.map(toPublicDelivery), total?.n ?? 0, page)
}

/**
 * Queues a finished delivery again: the same event, so the same `webhook-id` (receivers
 * deduplicate on it). A delivery still pending is a 409.
 */
export async function redeliver(ctx: WebhookCtx, userId: string, deliveryId: string) {
  return ctx.db.transaction(async (tx) => {
    const found = await deliveryAccess(tx, deliveryId, userId)
    if (found.status === 'pending') throw conflict('This delivery is still pending')
    const [row] = await tx
      .update(webhookDeliveries)
      .set({ status: 'pending', nextAttemptAt: sql`now()`, updatedAt: sql`now()` })
      .where(eq(webhookDeliveries.id, deliveryId))
      .returning()
    await queueAttempts(tx, deliveryId, row!.webhookId)
    return toPublicDelivery(row!)
  })
}

export type { WebhookRow }

/** Finished deliveries older than `days` (WEBHOOK_DELIVERY_RETENTION_DAYS), in batches; returns how many. */
export function purgeDeliveries(db: Db, days: number, batch = 1_000) {
  return inBatches(batch, async () => {
    const gone = await db
      .delete(webhookDeliveries)
      .where(
        sql`${webhookDeliveries.id} in (select ${webhookDeliveries.id} from ${webhookDeliveries}
          where ${webhookDeliveries.status} <> 'pending'
            and ${webhookDeliveries.updatedAt} < now() - ${`${days} days`}::interval limit ${batch})`,
      )
      .returning({ id: webhookDeliveries.id })
    return gone.length
  })
}
