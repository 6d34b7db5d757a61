import { beforeAll, describe, expect, test } from 'bun:test'
import { and, eq, sql } from 'drizzle-orm'
import { events, jobs, webhookDeliveries, webhooks } from '../../../src/db/schema'
import { recordEvents } from '../../../src/events/record'
import { JOBS_CHANNEL } from '../../../src/jobs/queue'
import { createTestApp, expectProblem, type TestContext } from '../../helpers/app'
import { API, MISSING_ID, makeTask, team } from '../../helpers/projects-fixtures'
import { eventually } from '../../helpers/webhook-receiver'

let ctx: TestContext
beforeAll(async () => {
  // public names resolve to a documentation-free public address; the guard itself is tested in url-guard.test.ts
  ctx = await createTestApp({ deps: { resolve: async () => ['93.184.215.14'] } })
})

const HOOK = 'https://hooks.example.com/taskbase'
const create = (token: string, projectId: string, body: Record<string, unknown>) =>
  ctx.req('POST', `${API}/projects/${projectId}/webhooks`, { token, body })

describe('POST /projects/{id}/webhooks', () => {
  test('the owner gets 201 with Location, ETag and the secret once; GET and the list never show it', async () => {
    const { owner, project } = await team(ctx)
    const res = await create(owner.token, project.id, {
      url: HOOK,
      events: ['task.created'],
      description: 'CI',
    })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({
      project_id: project.id,
      url: HOOK,
      events: ['task.created'],
      description: 'CI',
      enabled: true,
      disabled_reason: null,
      failing_since: null,
      version: 1,
    })
    expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(res.headers.get('location')).toBe(`/api/v1/webhooks/${res.body.id}`)
    expect(res.headers.get('etag')).toBe('"1"')
    const one = await ctx.req('GET', res.headers.get('location')!, { token: owner.token })
    expect(one.status).toBe(200)
    expect(one.body.secret).toBeUndefined()
    expect(one.text).not.toContain(res.body.secret.slice(6))
    const list = await ctx.req('GET', `${API}/projects/${project.id}/webhooks`, { token: owner.token })
    expect(list.body).toMatchObject({ total: 1, items: [{ id: res.body.id }] })
    expect(list.text).not.toContain('whsec_')
    // stored sealed: the row does not hold the secret
    const [row] = await ctx.db.select().from(webhooks).where(eq(webhooks.id, res.body.id))
    expect(row!.secret).toStartWith('v1:')
    expect(row!.secret).not.toContain(res.body.secret.slice(6, 20))
  })

  test('editors and viewers get 403, strangers 404, no token 401', async () => {
    const { editor, viewer, outsider, project } = await team(ctx)
    expectProblem(await create(editor.token, project.id, { url: HOOK, events: ['*'] }), 403, 'forbidden')
    expectProblem(await create(viewer.token, project.id, { url: HOOK, events: ['*'] }), 403, 'forbidden')
    expectProblem(await create(outsider.token, project.id, { url: HOOK, events: ['*'] }), 404, 'not_found')
    expectProblem(await create(outsider.token, MISSING_ID, { url: HOOK, events: ['*'] }), 404, 'not_found')
    expectProblem(
      await ctx.req('POST', `${API}/projects/${project.id}/webhooks`, { body: { url: HOOK, events: ['*'] } }),
      401,
    )
    expectProblem(
      await ctx.req('GET', `${API}/projects/${project.id}/webhooks`, { token: editor.token }),
      403,
    )
    expectProblem(
      await ctx.req('GET', `${API}/projects/${project.id}/webhooks`, { token: outsider.token }),
      404,
    )
  })

  test('bad bodies are 422 and create nothing', async () => {
    const { owner, project } = await team(ctx)
    const bad: [Record<string, unknown>, string][] = [
      [{ events: ['*'] }, 'url'],
      [{ url: HOOK }, 'events'],
      [{ url: HOOK, events: [] }, 'events'],
      [{ url: HOOK, events: ['task.exploded'] }, 'events'],
      [{ url: HOOK, events: ['webhook.ping'] }, 'events'],
      [{ url: HOOK, events: ['task.created', 'task.created'] }, 'events'],
      [{ url: HOOK, events: ['*', 'task.created'] }, 'events'],
      [{ url: HOOK, events: ['*'], secret: 'whsec_mine' }, 'secret'],
      [{ url: HOOK, events: ['*'], description: 'x'.repeat(501) }, 'description'],
      [{ url: 'ftp://example.com/x', events: ['*'] }, 'url'],
      [{ url: 'not a url', events: ['*'] }, 'url'],
      [{ url: 'https://user:pw@example.com/', events: ['*'] }, 'url'],
      [{ url: `https://example.com/${'a'.repeat(2050)}`, events: ['*'] }, 'url'],
    ]
    for (const [body, field] of bad) {
      const p = expectProblem(await create(owner.token, project.id, body), 422, 'validation_failed')
      expect(p.errors?.map((e) => e.field.split('.')[0])).toContain(field)
    }
    const rows = await ctx.db.select().from(webhooks).where(eq(webhooks.projectId, project.id))
    expect(rows).toHaveLength(0)
  })

  test('production refuses plain http (422), development accepts it', async () => {
    const prod = await createTestApp({
      env: { ENVIRONMENT: 'production', MAIL_TRANSPORT: 'log' },
      deps: { resolve: async () => ['93.184.215.14'] },
    })
    const { owner, project } = await team(prod)
    const refused = await prod.req('POST', `${API}/projects/${project.id}/webhooks`, {
      token: owner.token,
      body: { url: 'http://hooks.example.com/', events: ['*'] },
    })
    expect(expectProblem(refused, 422).errors?.[0]?.message).toContain('https')
    const ok = await create(owner.token, project.id, { url: 'http://hooks.example.com/', events: ['*'] })
    expect(ok.status).toBe(201)
  })

  test('a project has at most 20 webhooks (409)', async () => {
    const { owner, project } = await team(ctx)
    for (let i = 0; i < 20; i++)
      expect((await create(owner.token, project.id, { url: `${HOOK}/${i}`, events: ['*'] })).status).toBe(201)
    expectProblem(await create(owner.token, project.id, { url: HOOK, events: ['*'] }), 409, 'conflict')
  })
})

describe('/webhooks/{id}', () => {
  async function hook() {
    const t = await team(ctx)
    const res = await create(t.owner.token, t.project.id, { url: HOOK, events: ['task.created'] })
    return { ...t, hook: res.body as { id: string; secret: string } }
  }

  test('PATCH changes url, events, description and enabled, honours If-Match; others 403/404/401', async () => {
    const { owner, editor, outsider, hook: h } = await hook()
    const url = `${API}/webhooks/${h.id}`
    const res = await ctx.req('PATCH', url, {
      token: owner.token,
      body: {
        url: `${HOOK}/v2`,
        events: ['task.updated', 'comment.created'],
        description: 'two',
        enabled: false,
      },
      headers: { 'if-match': '"1"' },
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      url: `${HOOK}/v2`,
      events: ['task.updated', 'comment.created'],
      description: 'two',
      enabled: false,
      version: 2,
    })
    expect(res.headers.get('etag')).toBe('"2"')
    expectProblem(
      await ctx.req('PATCH', url, {
        token: owner.token,
        body: { enabled: true },
        headers: { 'if-match': '"1"' },
      }),
      412,
    )
    expectProblem(await ctx.req('PATCH', url, { token: owner.token, body: {} }), 422)
    expectProblem(await ctx.req('PATCH', url, { token: owner.token, body: { url: 'http://[::1]/' } }), 422)
    expectProblem(await ctx.req('PATCH', url, { token: editor.token, body: { enabled: true } }), 403)
    expectProblem(await ctx.req('PATCH', url, { token: outsider.token, body: { enabled: true } }), 404)
    expectProblem(await ctx.req('PATCH', url, { body: { enabled: true } }), 401)
    expectProblem(await ctx.req('GET', url, { token: outsider.token }), 404)
    expectProblem(await ctx.req('GET', url, { token: editor.token }), 403)
    expectProblem(await ctx.req('GET', `${API}/webhooks/${MISSING_ID}`, { token: owner.token }), 404)
    const same = await ctx.req('PATCH', url, { token: owner.token, body: { description: 'two' } })
    expect(same.body.version).toBe(2)
  })

  test('enabling a disabled webhook clears its failure streak', async () => {
    const { owner, hook: h } = await hook()
    await ctx.db
      .update(webhooks)
      .set({ enabled: false, failingSince: new Date(Date.now() - 90_000_000), disabledReason: 'failing' })
      .where(eq(webhooks.id, h.id))
    const res = await ctx.req('PATCH', `${API}/webhooks/${h.id}`, {
      token: owner.token,
      body: { enabled: true },
    })
    expect(res.body).toMatchObject({ enabled: true, failing_since: null, disabled_reason: null })
  })

  test('rotate-secret returns a new secret once and keeps the old one signing for 24 h', async () => {
    const { owner, editor, hook: h } = await hook()
    const res = await ctx.req('POST', `${API}/webhooks/${h.id}/rotate-secret`, { token: owner.token })
    expect(res.status).toBe(200)
    expect(res.body.secret).toMatch(/^whsec_/)
    expect(res.body.secret).not.toBe(h.secret)
    const [row] = await ctx.db.select().from(webhooks).where(eq(webhooks.id, h.id))
    expect(row!.previousSecret).toStartWith('v1:')
    const left = row!.previousSecretUntil!.getTime() - Date.now()
    expect(left).toBeGreaterThan(23.9 * 3_600_000)
    expect(left).toBeLessThanOrEqual(24 * 3_600_000)
    expectProblem(
      await ctx.req('POST', `${API}/webhooks/${h.id}/rotate-secret`, { token: editor.token }),
      403,
    )
    expectProblem(await ctx.req('POST', `${API}/webhooks/${h.id}/rotate-secret`), 401)
  })

  test('ping queues one delivery of a webhook.ping event to this webhook alone', async () => {
    const { owner, project, viewer, hook: h } = await hook()
    const other = await create(owner.token, project.id, { url: `${HOOK}/all`, events: ['*'] })
    const res = await ctx.req('POST', `${API}/webhooks/${h.id}/ping`, { token: owner.token })
    expect(res.status).toBe(202)
    expect(res.body).toMatchObject({
      webhook_id: h.id,
      event_type: 'webhook.ping',
      status: 'pending',
      attempts: 0,
    })
    // its attempt is queued on the job queue, for this delivery
    const queued = await ctx.db
      .select()
      .from(jobs)
      .where(and(eq(jobs.type, 'webhook'), sql`${jobs.payload}->>'delivery_id' = ${res.body.id}`))
    expect(queued).toHaveLength(1)
    expect(queued[0]).toMatchObject({ status: 'queued', groupKey: h.id })
    const forOther = await ctx.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.webhookId, other.body.id))
    expect(forOther).toHaveLength(0)
    expectProblem(await ctx.req('POST', `${API}/webhooks/${h.id}/ping`, { token: viewer.token }), 403)
  })

  test('events become deliveries for matching enabled webhooks only, in the change’s transaction', async () => {
    const { owner, project, hook: h } = await hook()
    const all = (await create(owner.token, project.id, { url: `${HOOK}/all`, events: ['*'] })).body
    const off = (await create(owner.token, project.id, { url: `${HOOK}/off`, events: ['*'] })).body
    await ctx.req('PATCH', `${API}/webhooks/${off.id}`, { token: owner.token, body: { enabled: false } })
    const task = await makeTask(ctx, owner, project.id)
    await ctx.req('PATCH', `${API}/tasks/${task.id}`, { token: owner.token, body: { title: 'renamed' } })
    const types = async (id: string) =>
      (await ctx.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, id)))
        .map((d) => d.eventType)
        .sort()
    expect(await types(h.id)).toEqual(['task.created'])
    expect(await types(all.id)).toEqual(['task.created', 'task.updated'])
    expect(await types(off.id)).toEqual([])
    // each delivery's job is grouped by its endpoint (the per-endpoint cap of the claim)
    const grouped = await ctx.db
      .select({ group: jobs.groupKey, webhook: webhookDeliveries.webhookId })
      .from(jobs)
      .innerJoin(webhookDeliveries, sql`${webhookDeliveries.id}::text = ${jobs.payload}->>'delivery_id'`)
      .where(sql`${webhookDeliveries.webhookId} in (${h.id}, ${all.id})`)
    expect(grouped).toHaveLength(3)
    for (const g of grouped) expect(g.group).toBe(g.webhook)
    // a change whose transaction rolls back leaves neither its event nor a delivery nor a job
    let ids: string[] = []
    await expect(
      ctx.db.transaction(async (tx) => {
        ids = await recordEvents(tx, [
          { type: 'task.updated', projectId: project.id, actorId: owner.id, data: {} },
        ])
        throw new Error('rolled back')
      }),
    ).rejects.toThrow('rolled back')
    expect(ids).toHaveLength(1)
    expect(await ctx.db.select().from(events).where(eq(events.id, ids[0]!))).toHaveLength(0)
    expect(
      await ctx.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, ids[0]!)),
    ).toHaveLength(0)
    const jobsForRolledBack = await ctx.db
      .select()
      .from(jobs)
      .where(
        sql`${jobs.payload}->>'delivery_id' in (select id::text from webhook_deliveries where event_id = ${ids[0]!})`,
      )
    expect(jobsForRolledBack).toHaveLength(0)
  })

  test('a change that queues deliveries wakes the job workers at its commit (NOTIFY), one without does not', async () => {
    const { owner, project, hook: h } = await hook()
    const heard: string[] = []
    const stop = await ctx.database.listen(JOBS_CHANNEL, (payload) => heard.push(payload))
    try {
      await ctx.req('PATCH', `${API}/webhooks/${h.id}`, {
        token: owner.token,
        body: { events: ['task.deleted'] },
      })
      await makeTask(ctx, owner, project.id) // task.created: no webhook wants it, so no NOTIFY
      await ctx.req('PATCH', `${API}/webhooks/${h.id}`, {
        token: owner.token,
        body: { events: ['task.created'] },
      })
      await makeTask(ctx, owner, project.id)
      await eventually(() => heard.length > 0, 5_000, 'the wake-up')
      // exactly one, the second change's: NOTIFYs arrive in commit order
      expect(heard).toEqual(['webhook'])
    } finally {
      await stop()
    }
  })

  test('deliveries: paginated newest first; redeliver 409 while pending, 202 after; others 403/404', async () => {
    const { owner, editor, outsider, project, hook: h } = await hook()
    await makeTask(ctx, owner, project.id)
    await makeTask(ctx, owner, project.id)
    const url = `${API}/webhooks/${h.id}/deliveries`
    const page = await ctx.req('GET', `${url}?page_size=1`, { token: owner.token })
    expect(page.status).toBe(200)
    expect(page.body).toMatchObject({ total: 2, page: 1, page_size: 1 })
    expect(page.body.items[0]).toMatchObject({
      webhook_id: h.id,
      event_type: 'task.created',
      status: 'pending',
      attempts: 0,
    })
    const id = page.body.items[0].id
    expectProblem(
      await ctx.req('POST', `${API}/deliveries/${id}/redeliver`, { token: owner.token }),
      409,
      'conflict',
    )
    await ctx.db
      .update(webhookDeliveries)
      .set({ status: 'failed', nextAttemptAt: null })
      .where(eq(webhookDeliveries.id, id))
    const again = await ctx.req('POST', `${API}/deliveries/${id}/redeliver`, { token: owner.token })
    expect(again.status).toBe(202)
    expect(again.body).toMatchObject({ id, status: 'pending' })
    const requeued = await ctx.db.select().from(jobs).where(sql`${jobs.payload}->>'delivery_id' = ${id}`)
    expect(requeued.map((j) => j.groupKey)).toEqual([h.id, h.id])
    expectProblem(await ctx.req('POST', `${API}/deliveries/${id}/redeliver`, { token: editor.token }), 403)
    expectProblem(await ctx.req('POST', `${API}/deliveries/${id}/redeliver`, { token: outsider.token }), 404)
    expectProblem(
      await ctx.req('POST', `${API}/deliveries/${MISSING_ID}/redeliver`, { token: owner.token }),
      404,
    )
    expectProblem(await ctx.req('GET', url, { token: editor.token }), 403)
    expectProblem(await ctx.req('GET', url, { token: outsider.token }), 404)
    expectProblem(await ctx.req('GET', url), 401)
    expectProblem(await ctx.req('GET', `${url}?page_size=101`, { token: owner.token }), 422)
  })

  test('DELETE removes the webhook and its deliveries; If-Match honoured', async () => {
    const { owner, editor, project, hook: h } = await hook()
    await makeTask(ctx, owner, project.id)
    const url = `${API}/webhooks/${h.id}`
    expectProblem(await ctx.req('DELETE', url, { token: editor.token }), 403)
    expectProblem(await ctx.req('DELETE', url, { token: owner.token, headers: { 'if-match': '"7"' } }), 412)
    expect((await ctx.req('DELETE', url, { token: owner.token })).status).toBe(204)
    expectProblem(await ctx.req('GET', url, { token: owner.token }), 404)
    expect(
      await ctx.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, h.id)),
    ).toHaveLength(0)
  })
})
