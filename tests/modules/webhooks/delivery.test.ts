import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { and, eq } from 'drizzle-orm'
import { Webhook } from 'standardwebhooks'
import { events, jobs, webhookDeliveries, webhooks } from '../../../src/db/schema'
import { JobRunner } from '../../../src/jobs/runner'
import { memoryLogger } from '../../../src/lib/logger'
import { webhookJob } from '../../../src/modules/webhooks'
import { createTestApp, type TestContext, type TestUser } from '../../helpers/app'
import { API, makeTask, team } from '../../helpers/projects-fixtures'
import { eventually, startReceiver } from '../../helpers/webhook-receiver'

let ctx: TestContext
let runner: JobRunner
/** The clock the failure streak is measured with; tests move it forward. */
let offsetMs = 0
const receivers: { stop: () => void }[] = []

beforeAll(async () => {
  ctx = await createTestApp({
    env: {
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_RETRY_SCHEDULE: '30ms,60ms',
      WEBHOOK_TIMEOUT_MS: '400',
      WEBHOOK_ENDPOINT_CONCURRENCY: '4',
    },
  })
  // attempts queued by other files (their URLs are not receivers of this file) are not ours to run
  await ctx.db
    .update(jobs)
    .set({ status: 'failed' })
    .where(and(eq(jobs.type, 'webhook'), eq(jobs.status, 'queued')))
  runner = new JobRunner({
    database: ctx.database,
    logger: memoryLogger('error').logger,
    definitions: [
      webhookJob({
        db: ctx.db,
        settings: ctx.settings,
        logger: ctx.logs.logger,
        clock: () => new Date(Date.now() + offsetMs),
      }),
    ],
    concurrency: 4,
    pollIntervalMs: 50,
  })
  await runner.start()
})
afterAll(async () => {
  await runner.stop()
  for (const r of receivers) r.stop()
})

function receiver(opts: Parameters<typeof startReceiver>[0] = {}) {
  const r = startReceiver(opts)
  receivers.push(r)
  return r
}

async function hook(owner: TestUser, projectId: string, url: string, events: string[] = ['*']) {
  const res = await ctx.req('POST', `${API}/projects/${projectId}/webhooks`, {
    token: owner.token,
    body: { url, events },
  })
  expect(res.status).toBe(201)
  return res.body as { id: string; secret: string }
}

const deliveriesOf = (webhookId: string) =>
  ctx.db
    .select()
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.webhookId, webhookId))
    .orderBy(webhookDeliveries.createdAt)

async function settled(webhookId: string, n: number) {
  return eventually(
    async () => {
      const rows = await deliveriesOf(webhookId)
      return rows.length >= n && rows.every((d) => d.status !== 'pending') ? rows : null
    },
    10_000,
    `${n} settled deliveries`,
  )
}

describe('webhook deliveries', () => {
  test('every delivery verifies with the standardwebhooks library and carries the event', async () => {
    const r = receiver({ respond: () => new Response('x'.repeat(3_000)) })
    const { owner, project } = await team(ctx)
    const h = await hook(owner, project.id, r.url, ['task.created', 'task.updated'])
    const task = await makeTask(ctx, owner, project.id, { title: 'Ship it' })
    await ctx.req('PATCH', `${API}/tasks/${task.id}`, { token: owner.token, body: { priority: 'high' } })
    await ctx.req('POST', `${API}/tasks/${task.id}/comments`, {
      token: owner.token,
      body: { body: 'not subscribed' },
    })
    const rows = await settled(h.id, 2)
    expect(rows).toHaveLength(2)
    const wh = new Webhook(h.secret)
    const payloads = r.received.map((m) => wh.verify(m.body, m.headers) as Record<string, any>)
    expect(payloads.map((p) => p.type).sort()).toEqual(['task.created', 'task.updated'])
    const created = payloads.find((p) => p.type === 'task.created')!
    expect(created).toMatchObject({
      project_id: project.id,
      actor_id: owner.id,
      data: { id: task.id, title: 'Ship it' },
    })
    const [stored] = await ctx.db.select().from(events).where(eq(events.id, created.id))
    expect(stored?.type).toBe('task.created')
    // webhook-id is the event id; the headers are exactly the specification's
    expect(r.received.map((m) => m.id).sort()).toEqual(payloads.map((p) => p.id).sort())
    expect(r.received[0]!.headers['content-type']).toBe('application/json')
    expect(Math.abs(Number(r.received[0]!.timestamp) - Date.now() / 1000)).toBeLessThan(30)
    expect(r.received[0]!.signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/)
    // a tampered body fails verification
    expect(() => wh.verify(r.received[0]!.body.replace('Ship', 'Sink'), r.received[0]!.headers)).toThrow()
    for (const d of rows) {
      expect(d).toMatchObject({
        status: 'succeeded',
        attempts: 1,
        lastStatusCode: 200,
        lastError: null,
        nextAttemptAt: null,
      })
      expect(d.lastResponse).toBe('x'.repeat(1_024))
      expect(d.durationMs).toBeGreaterThanOrEqual(0)
    }
    const log = await ctx.req('GET', `${API}/webhooks/${h.id}/deliveries`, { token: owner.token })
    expect(log.body.items[0]).toMatchObject({ status: 'succeeded', attempts: 1, last_status_code: 200 })
  })

  test('a failing receiver is retried on the schedule with the same webhook-id until it succeeds', async () => {
    const r = receiver({ respond: (n) => new Response('down', { status: n < 2 ? 503 : 204 }) })
    const { owner, project } = await team(ctx)
    const h = await hook(owner, project.id, r.url)
    await makeTask(ctx, owner, project.id)
    const [d] = await settled(h.id, 1)
    expect(d).toMatchObject({ status: 'succeeded', attempts: 3, lastStatusCode: 204 })
    expect(new Set(r.received.map((m) => m.id)).size).toBe(1)
    expect(r.received).toHaveLength(3)
    // the waits follow WEBHOOK_RETRY_SCHEDULE (30 ms, 60 ms): never earlier
    expect(r.received[1]!.at - r.received[0]!.at).toBeGreaterThanOrEqual(25)
    expect(r.received[2]!.at - r.received[1]!.at).toBeGreaterThanOrEqual(55)
    const [w] = await ctx.db.select().from(webhooks).where(eq(webhooks.id, h.id))
    expect(w!.failingSince).toBeNull()
  })

  test('after the last retry the delivery is failed; redirects are not followed; slow answers time out', async () => {
    const target = receiver()
    const redirecting = receiver({
      respond: () => new Response(null, { status: 307, headers: { location: target.url } }),
    })
    const slow = receiver({ respond: () => Bun.sleep(1_000).then(() => new Response('late')) })
    const { owner, project } = await team(ctx)
    const a = await hook(owner, project.id, redirecting.url)
    const b = await hook(owner, project.id, slow.url)
    await makeTask(ctx, owner, project.id)
    const [ra] = await settled(a.id, 1)
    expect(ra).toMatchObject({ status: 'failed', attempts: 3, lastStatusCode: 307, nextAttemptAt: null })
    expect(ra!.lastError).toContain('redirects are not followed')
    expect(redirecting.received).toHaveLength(3)
    expect(target.received).toHaveLength(0)
    const [rb] = await settled(b.id, 1)
    expect(rb).toMatchObject({ status: 'failed', attempts: 3, lastStatusCode: null })
    expect(rb!.lastError).toBe('no response within 400 ms')
    const [w] = await ctx.db.select().from(webhooks).where(eq(webhooks.id, a.id))
    expect(w!.failingSince).not.toBeNull()
    expect(w!.enabled).toBe(true)
  })

  test('during a rotation deliveries carry both signatures; after 24 h only the new one', async () => {
    const r = receiver()
    const { owner, project } = await team(ctx)
    const h = await hook(owner, project.id, r.url)
    const rotated = await ctx.req('POST', `${API}/webhooks/${h.id}/rotate-secret`, { token: owner.token })
    await makeTask(ctx, owner, project.id)
    await settled(h.id, 1)
    const m = r.received[0]!
    expect(m.signature.split(' ')).toHaveLength(2)
    expect(new Webhook(rotated.body.secret).verify(m.body, m.headers)).toBeTruthy()
    expect(new Webhook(h.secret).verify(m.body, m.headers)).toBeTruthy()
    await ctx.db
      .update(webhooks)
      .set({ previousSecretUntil: new Date(Date.now() - 1_000) })
      .where(eq(webhooks.id, h.id))
    await makeTask(ctx, owner, project.id)
    await settled(h.id, 2)
    const late = r.received[1]!
    expect(late.signature.split(' ')).toHaveLength(1)
    expect(new Webhook(rotated.body.secret).verify(late.body, late.headers)).toBeTruthy()
    expect(() => new Webhook(h.secret).verify(late.body, late.headers)).toThrow()
  })

  test('redeliver sends the same event with the same webhook-id; ping reaches only the pinged webhook', async () => {
    const r = receiver()
    const other = receiver()
    const { owner, project } = await team(ctx)
    const h = await hook(owner, project.id, r.url)
    const o = await hook(owner, project.id, other.url)
    await makeTask(ctx, owner, project.id)
    const [d] = await settled(h.id, 1)
    await settled(o.id, 1)
    const again = await ctx.req('POST', `${API}/deliveries/${d!.id}/redeliver`, { token: owner.token })
    expect(again.status).toBe(202)
    await eventually(() => r.received.length === 2, 10_000, 'the redelivery')
    expect(r.received[1]!.id).toBe(r.received[0]!.id)
    const [after] = await settled(h.id, 1)
    expect(after).toMatchObject({ status: 'succeeded', attempts: 2 })
    const ping = await ctx.req('POST', `${API}/webhooks/${h.id}/ping`, { token: owner.token })
    expect(ping.status).toBe(202)
    await eventually(() => r.received.length === 3, 10_000, 'the ping')
    const body = new Webhook(h.secret).verify(r.received[2]!.body, r.received[2]!.headers) as Record<
      string,
      any
    >
    expect(body).toMatchObject({ type: 'webhook.ping', data: { webhook_id: h.id } })
    // the other webhook got no delivery of the ping (dispatch happens in the ping's transaction)
    expect((await deliveriesOf(o.id)).map((d) => d.eventType)).toEqual(['task.created'])
    expect(other.received).toHaveLength(1)
  })

  test('an endpoint failing for 24 h straight is disabled and a webhook.disabled event goes out', async () => {
    const failing = receiver({ respond: () => new Response('no', { status: 500 }) })
    const watcher = receiver()
    const { owner, project } = await team(ctx)
    const h = await hook(owner, project.id, failing.url)
    const w = await hook(owner, project.id, watcher.url, ['webhook.disabled'])
    await makeTask(ctx, owner, project.id)
    await settled(h.id, 1)
    const [streak] = await ctx.db.select().from(webhooks).where(eq(webhooks.id, h.id))
    expect(streak!.enabled).toBe(true)
    expect(streak!.failingSince).not.toBeNull()
    offsetMs = 25 * 3_600_000
    try {
      await makeTask(ctx, owner, project.id)
      const off = await eventually(
        async () => {
          const [row] = await ctx.db.select().from(webhooks).where(eq(webhooks.id, h.id))
          return row && !row.enabled ? row : null
        },
        10_000,
        'the webhook to be disabled',
      )
      expect(off.disabledReason).toContain('24 hours')
      await eventually(() => watcher.received.length === 1, 10_000, 'the webhook.disabled event')
      const event = new Webhook(w.secret).verify(
        watcher.received[0]!.body,
        watcher.received[0]!.headers,
      ) as Record<string, any>
      expect(event).toMatchObject({
        type: 'webhook.disabled',
        actor_id: null,
        data: { id: h.id, enabled: false },
      })
      // disabled: later events are not delivered to it; its owner sees why
      const logged = (await deliveriesOf(h.id)).length
      await makeTask(ctx, owner, project.id)
      // no delivery was created for it (dispatch happens in the change's transaction)
      expect(await deliveriesOf(h.id)).toHaveLength(logged)
      const view = await ctx.req('GET', `${API}/webhooks/${h.id}`, { token: owner.token })
      expect(view.body).toMatchObject({
        enabled: false,
        disabled_reason: expect.stringContaining('24 hours'),
      })
    } finally {
      offsetMs = 0
    }
  })

  test('a slow endpoint does not hold up deliveries to another one', async () => {
    let inFlight = 0
    let peak = 0
    const slow = receiver({
      respond: async () => {
        peak = Math.max(peak, ++inFlight)
        await Bun.sleep(150)
        inFlight--
        return new Response('ok')
      },
    })
    const fast = receiver()
    const { owner, project } = await team(ctx)
    const s = await hook(owner, project.id, slow.url, ['task.created'])
    const f = await hook(owner, project.id, fast.url, ['task.created'])
    for (let i = 0; i < 12; i++) await makeTask(ctx, owner, project.id)
    await settled(f.id, 12)
    // every fast delivery is done while the slow endpoint (4 at a time, 150 ms each) is still behind
    const slowDone = (await deliveriesOf(s.id)).filter((d) => d.status === 'succeeded').length
    expect(slowDone).toBeLessThan(12)
    await settled(s.id, 12)
    expect(new Set(slow.received.map((m) => m.id)).size).toBe(12)
    expect(peak).toBe(4) // WEBHOOK_ENDPOINT_CONCURRENCY
  })
})
