import { checkServerIdentity } from 'node:tls'
import { eq, sql } from 'drizzle-orm'
import type { Settings } from '../../config'
import type { Db } from '../../db/client'
import { events, webhookDeliveries, webhooks } from '../../db/schema'
import { toPublicEvent } from '../../events/model'
import { PING_EVENT, recordEvent, WEBHOOK_JOB, WEBHOOK_JOB_MAX_ATTEMPTS } from '../../events/record'
import { type JobDefinition, PermanentJobError } from '../../jobs/runner'
import type { Logger } from '../../lib/logger'
import { VERSION } from '../../lib/version'
import { toPublicWebhook } from './model'
import { openSecret, signatureHeader } from './secrets'
import { guardOptions } from './service'
import { type GuardOptions, pinnedUrl, resolveTarget } from './url-guard'

/** An endpoint failing this long without a success is disabled. */
export const DISABLE_AFTER_MS = 24 * 3_600_000
/** Delivery attempts running at once in this process (they wait on the network, not the CPU). */
export const WEBHOOK_CONCURRENCY = 64
const RESPONSE_KEPT_BYTES = 1_024

export type DeliveryOutcome = 'succeeded' | 'retrying' | 'failed'

export interface WebhookJobDeps {
  db: Db
  settings: Settings
  logger: Logger
  /** The time the failure streak is measured with (tests move it forward a day). */
  clock?: () => Date
  resolve?: GuardOptions['resolve']
  /** Extra trusted CA certificates (PEM) for https receivers (tests with their own CA). */
  tlsCa?: string
  /** Called once per attempt (metrics). */
  onOutcome?: (outcome: DeliveryOutcome) => void
}

interface Attempt {
  ok: boolean
  statusCode: number | null
  error: string | null
  response: string | null
}

/** Reads at most `max` bytes of a response body as text and drops the rest unread. */
async function readPrefix(res: Response, max: number): Promise<string> {
  if (!res.body) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    while (size < max) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      size += value.byteLength
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
  const bytes = Buffer.concat(chunks).subarray(0, max)
  // PostgreSQL text holds no U+0000; a cut multi-byte character becomes U+FFFD
  return new TextDecoder().decode(bytes).replaceAll('\u0000', '\uFFFD')
}

function describe(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string }
  if (e?.name === 'TimeoutError') return `no response within ${timeoutMs} ms`
  const text = String(e?.message ?? err)
  return (e?.code && !text.includes(e.code) ? `${e.code}: ${text}` : text).slice(0, 500)
}

/**
 * The `webhook` job: one attempt of one delivery. It signs the event as the Standard Webhooks
 * specification says, POSTs it to the address the URL guard checked (no redirects), records the
 * attempt in the delivery log, and lets the queue retry on WEBHOOK_RETRY_SCHEDULE; after the last
 * retry the delivery is failed. An endpoint without a success for 24 h is disabled and a
 * `webhook.disabled` event is written.
 */
export function webhookJob(deps: WebhookJobDeps): JobDefinition {
  const { db, settings } = deps
  const schedule = settings.webhookRetryScheduleMs
  const clock = deps.clock ?? (() => new Date())
  const timeoutMs = settings.WEBHOOK_TIMEOUT_MS
  const secretKeys = [settings.SECRET_KEY, ...settings.jwtPreviousSecrets]
  /** The wait after failed attempt `attempt` (1-based): the schedule's entry, its last one beyond. */
  const retryDelayMs = (attempt: number) => schedule[Math.min(attempt, schedule.length) - 1] ?? 0

  async function send(
    webhook: typeof webhooks.$inferSelect,
    event: typeof events.$inferSelect,
    signal: AbortSignal,
  ): Promise<Attempt> {
    const target = await resolveTarget(webhook.url, guardOptions(settings, deps.resolve))
    const body = JSON.stringify(toPublicEvent(event))
    const timestamp = Math.floor(Date.now() / 1000)
    const secrets = [openSecret(webhook.secret, secretKeys)]
    if (webhook.previousSecret && webhook.previousSecretUntil && webhook.previousSecretUntil > clock())
      secrets.push(openSecret(webhook.previousSecret, secretKeys))
    const { hostname } = target
    const res = await fetch(pinnedUrl(target), {
      method: 'POST',
      body,
      redirect: 'manual',
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      headers: {
        host: target.url.host,
        'content-type': 'application/json',
        'user-agent': `Taskbase-Webhooks/${VERSION}`,
        'webhook-id': event.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(secrets, event.id, timestamp, body),
      },
      tls: {
        serverName: hostname,
        checkServerIdentity: (_host: string, cert: Parameters<typeof checkServerIdentity>[1]) =>
          checkServerIdentity(hostname, cert),
        ...(deps.tlsCa ? { ca: deps.tlsCa } : {}),
      },
    } as RequestInit)
    const response = await readPrefix(res, RESPONSE_KEPT_BYTES)
    const ok = res.status >= 200 && res.status < 300
    const error = ok
      ? null
      : res.status >= 300 && res.status < 400
        ? `HTTP ${res.status} (redirects are not followed)`
        : `HTTP ${res.status}`
    return { ok, statusCode: res.status, error, response }
  }

  /** Writes the attempt to the log and the endpoint's failure streak; disables it after 24 h of failures. */
  async function record(
    deliveryId: string,
    webhook: typeof webhooks.$inferSelect,
    a: Attempt,
    durationMs: number,
    final: boolean,
    retryInMs: number,
  ) {
    const now = clock()
    const logged = (q: Db) =>
      q
        .update(webhookDeliveries)
        .set({
          status: a.ok ? 'succeeded' : final ? 'failed' : 'pending',
          attempts: sql`${webhookDeliveries.attempts} + 1`,
          lastStatusCode: a.statusCode,
          lastError: a.error,
          lastResponse: a.response,
          durationMs: Math.round(durationMs),
          nextAttemptAt: a.ok || final ? null : sql`now() + ${`${retryInMs} milliseconds`}::interval`,
          updatedAt: sql`now()`,
        })
        .where(eq(webhookDeliveries.id, deliveryId))
    if (a.ok) {
      // the common case in one statement (no transaction): the log, and the streak ended if any
      const log = logged(db)
      if (!webhook.failingSince) await log
      else
        await db
          .with(db.$with('logged').as(log.returning({ id: webhookDeliveries.id })))
          .update(webhooks)
          .set({ failingSince: null })
          .where(eq(webhooks.id, webhook.id))
      return
    }
    await db.transaction(async (tx) => {
      await logged(tx)
      const [w] = await tx
        .update(webhooks)
        .set({ failingSince: sql`coalesce(${webhooks.failingSince}, ${now.toISOString()}::timestamptz)` })
        .where(eq(webhooks.id, webhook.id))
        .returning()
      if (!w?.enabled || !w.failingSince || now.getTime() - w.failingSince.getTime() < DISABLE_AFTER_MS)
        return
      const [off] = await tx
        .update(webhooks)
        .set({
          enabled: false,
          disabledReason: 'every delivery attempt failed for 24 hours',
          version: sql`${webhooks.version} + 1`,
          updatedAt: sql`now()`,
        })
        .where(eq(webhooks.id, webhook.id))
        .returning()
      await recordEvent(tx, {
        type: 'webhook.disabled',
        projectId: off!.projectId,
        actorId: null,
        data: toPublicWebhook(off!),
      })
      deps.logger.warn('webhook disabled after failing for 24 hours', { webhook_id: webhook.id })
    })
  }

  return {
    type: WEBHOOK_JOB,
    ioBound: true,
    concurrency: WEBHOOK_CONCURRENCY,
    // jobs are grouped by webhook id (dispatch, ping and redeliver set group_key)
    groupConcurrency: settings.WEBHOOK_ENDPOINT_CONCURRENCY,
    maxAttempts: WEBHOOK_JOB_MAX_ATTEMPTS,
    timeoutMs: timeoutMs + 10_000,
    retryDelayMs,
    async handle(payload, ctx) {
      const deliveryId = String(payload.delivery_id)
      const [row] = await db
        .select({ delivery: webhookDeliveries, webhook: webhooks, event: events })
        .from(webhookDeliveries)
        .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
        .innerJoin(events, eq(events.id, webhookDeliveries.eventId))
        .where(eq(webhookDeliveries.id, deliveryId))
        .limit(1)
      // the webhook (or its project) was deleted, or the delivery is already settled
      if (!row) return { skipped: 'gone' }
      if (row.delivery.status !== 'pending') return { skipped: row.delivery.status }
      const { webhook, event } = row
      if (!webhook.enabled && event.type !== PING_EVENT) {
        await db
          .update(webhookDeliveries)
          .set({
            status: 'failed',
            lastError: 'the webhook is disabled',
            nextAttemptAt: null,
            updatedAt: sql`now()`,
          })
          .where(eq(webhookDeliveries.id, deliveryId))
        return { skipped: 'disabled' }
      }
      const started = performance.now()
      let attempt: Attempt
      try {
        attempt = await send(webhook, event, ctx.signal)
      } catch (err) {
        attempt = { ok: false, statusCode: null, error: describe(err, timeoutMs), response: null }
      }
      const final = !attempt.ok && ctx.job.attempts > schedule.length
      await record(
        deliveryId,
        webhook,
        attempt,
        performance.now() - started,
        final,
        retryDelayMs(ctx.job.attempts),
      )
      deps.onOutcome?.(attempt.ok ? 'succeeded' : final ? 'failed' : 'retrying')
      if (attempt.ok) return { status: attempt.statusCode }
      throw final ? new PermanentJobError(attempt.error ?? 'failed') : new Error(attempt.error ?? 'failed')
    },
  }
}
