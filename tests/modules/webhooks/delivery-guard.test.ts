import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { webhookDeliveries } from '../../../src/db/schema'
import type { JobRow } from '../../../src/jobs/queue'
import { webhookJob } from '../../../src/modules/webhooks'
import { createTestApp, type TestContext } from '../../helpers/app'
import { API, makeTask, team } from '../../helpers/projects-fixtures'
import { startReceiver } from '../../helpers/webhook-receiver'

// No job runner in this file: each attempt is made by hand, with the resolver the test chooses.
let ctx: TestContext
const receivers: { stop: () => void }[] = []
beforeAll(async () => {
  ctx = await createTestApp({
    env: { WEBHOOK_ALLOW_PRIVATE: 'true' },
    deps: { resolve: async () => ['127.0.0.1'] },
  })
})
afterAll(() => {
  for (const r of receivers) r.stop()
})
function receiver(opts: Parameters<typeof startReceiver>[0] = {}) {
  const r = startReceiver(opts)
  receivers.push(r)
  return r
}
const deliveriesOf = (webhookId: string) =>
  ctx.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, webhookId))

describe('the URL guard at delivery time', () => {
  const jobCtx = (attempts = 1) => ({
    job: { attempts } as JobRow,
    db: ctx.db,
    logger: ctx.logs.logger,
    signal: new AbortController().signal,
  })

  test('a name that resolved to a public address is refused when it resolves to loopback at delivery', async () => {
    const r = receiver()
    const guarded = await createTestApp({ deps: { resolve: async () => ['93.184.215.14'] } })
    const { owner, project } = await team(guarded)
    const created = await guarded.req('POST', `${API}/projects/${project.id}/webhooks`, {
      token: owner.token,
      body: { url: `http://rebind.test:${r.port}/hook`, events: ['*'] },
    })
    expect(created.status).toBe(201)
    await makeTask(guarded, owner, project.id)
    const [d] = await deliveriesOf(created.body.id)
    expect(d?.status).toBe('pending')
    // the rebinding answer: loopback
    const job = webhookJob({
      db: ctx.db,
      settings: guarded.settings,
      logger: ctx.logs.logger,
      resolve: async () => ['127.0.0.1'],
    })
    await expect(job.handle({ delivery_id: d!.id }, jobCtx())).rejects.toThrow('loopback')
    expect(r.received).toHaveLength(0)
    const [after] = await deliveriesOf(created.body.id)
    expect(after).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: null })
    expect(after!.lastError).toContain('loopback')
  })

  test('connects to the checked address while Host and the TLS name stay the URL’s', async () => {
    const dir = `${process.env.TMPDIR ?? '/tmp'}/tb-tls-${process.pid}`
    const gen = Bun.spawnSync([
      'openssl',
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${dir}.key`,
      '-out',
      `${dir}.crt`,
      '-days',
      '1',
      '-subj',
      '/CN=hooks.test',
      '-addext',
      'subjectAltName=DNS:hooks.test',
    ])
    expect(gen.exitCode).toBe(0)
    const cert = await Bun.file(`${dir}.crt`).text()
    const r = receiver({ tls: { cert, key: await Bun.file(`${dir}.key`).text() } })
    const { owner, project } = await team(ctx)
    const hook = async (url: string) =>
      (
        await ctx.req('POST', `${API}/projects/${project.id}/webhooks`, {
          token: owner.token,
          body: { url, events: ['*'] },
        })
      ).body.id as string
    const good = await hook(`https://hooks.test:${r.port}/hook`)
    const wrong = await hook(`https://other.test:${r.port}/hook`)
    const ping = async (id: string) =>
      (await ctx.req('POST', `${API}/webhooks/${id}/ping`, { token: owner.token })).body.id as string
    const pingGood = await ping(good)
    const pingWrong = await ping(wrong)
    const job = webhookJob({
      db: ctx.db,
      settings: ctx.settings,
      logger: ctx.logs.logger,
      resolve: async () => ['127.0.0.1'],
      tlsCa: cert,
    })
    expect(await job.handle({ delivery_id: pingGood }, jobCtx())).toEqual({ status: 200 })
    expect(r.received.at(-1)!.host).toBe(`hooks.test:${r.port}`)
    const before = r.received.length
    await expect(job.handle({ delivery_id: pingWrong }, jobCtx())).rejects.toThrow()
    expect(r.received.length).toBe(before)
    const [w] = await deliveriesOf(wrong)
    expect(w!.lastError).toMatch(/altname|certificate|other\.test/i)
  })
})
