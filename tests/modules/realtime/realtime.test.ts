import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { sessions, users as usersTable } from '../../../src/db/schema'
import { createTestApp, expectProblem, type TestContext } from '../../helpers/app'
import { API, MISSING_ID, makeProject, makeTask, team, users } from '../../helpers/projects-fixtures'
import { Client, listen, stop } from '../../helpers/realtime'

let ctx: TestContext
let url: string

beforeAll(async () => {
  ctx = await createTestApp({
    env: { REALTIME_AUTH_TIMEOUT_MS: '300', REALTIME_RECHECK_MS: '100', REALTIME_MAX_SUBSCRIPTIONS: '3' },
  })
  url = listen(ctx)
})
afterAll(() => stop(ctx))

const upgradeHeaders = (token?: string) => ({
  upgrade: 'websocket',
  connection: 'Upgrade',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'sec-websocket-version': '13',
  ...(token ? { authorization: `Bearer ${token}` } : {}),
})

describe('GET /realtime over HTTP', () => {
  test('without an upgrade it is a 426 problem naming the protocol', async () => {
    const res = await ctx.req('GET', `${API}/realtime`)
    expectProblem(res, 426, 'upgrade_required')
    expect(res.headers.get('upgrade')).toBe('websocket')
  })

  test('a bad bearer token is a 401 before any upgrade', async () => {
    const res = await ctx.req('GET', `${API}/realtime`, { headers: upgradeHeaders('not-a-token') })
    expectProblem(res, 401, 'unauthorized')
  })

  test('a deactivated account is a 403 before any upgrade', async () => {
    const [u] = await users(ctx, 1)
    await ctx.db.update(usersTable).set({ isActive: false }).where(eq(usersTable.id, u!.id))
    expectProblem(
      await ctx.req('GET', `${API}/realtime`, { headers: upgradeHeaders(u!.token) }),
      403,
      'forbidden',
    )
  })
})

describe('realtime sockets', () => {
  test('bearer on the upgrade: subscribe, then events of HTTP writes arrive as {type:"event"}', async () => {
    const { owner, project } = await team(ctx)
    const c = await Client.connect(url, owner.token)
    expect(await c.subscribe(project.id)).toEqual({ type: 'subscribed', project_id: project.id })
    const task = await makeTask(ctx, owner, project.id)
    const event = await c.event()
    expect(event).toMatchObject({ type: 'task.created', project_id: project.id, actor_id: owner.id })
    expect(event.data).toMatchObject({ id: task.id, number: task.number })
    const feed = await ctx.req('GET', `${API}/projects/${project.id}/activity`, { token: owner.token })
    expect(feed.body.items[0]).toEqual(event)
    await c.close()
  })

  test('auth by first message; ping gets pong; a stranger subscribing gets not_found', async () => {
    const { owner, outsider, project } = await team(ctx)
    const c = new Client(url)
    await c.opened
    c.send({ type: 'auth', token: outsider.token })
    expect(await c.next('authenticated')).toEqual({ type: 'authenticated', user_id: outsider.id })
    c.send({ type: 'ping' })
    expect(await c.next()).toEqual({ type: 'pong' })
    c.send({ type: 'subscribe', project_id: project.id })
    expect(await c.next()).toMatchObject({ type: 'error', code: 'not_found', project_id: project.id })
    c.send({ type: 'subscribe', project_id: MISSING_ID })
    expect(await c.next()).toMatchObject({ type: 'error', code: 'not_found' })
    await makeTask(ctx, owner, project.id)
    c.send({ type: 'ping' })
    expect(await c.next()).toEqual({ type: 'pong' }) // no event of the project came before it
    await c.close()
  })

  test('malformed, binary and oversized messages get an error message; the socket stays usable', async () => {
    const { owner, project } = await team(ctx)
    const c = await Client.connect(url, owner.token)
    for (const bad of ['{', '[]', '42', '{"type":"nope"}', '{"type":"subscribe","project_id":"x"}'])
      c.send(bad)
    for (let i = 0; i < 5; i++) expect(await c.next()).toMatchObject({ type: 'error', code: 'bad_message' })
    c.send({ type: 'subscribe', project_id: project.id, since: 'yesterday' })
    expect(await c.next()).toMatchObject({ type: 'error', code: 'bad_message' })
    c.ws.send(new Uint8Array([1, 2, 3]))
    expect(await c.next()).toMatchObject({ type: 'error', code: 'bad_message' })
    c.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(10_000) }))
    expect(await c.next()).toMatchObject({ type: 'error', code: 'message_too_large' })
    expect(await c.subscribe(project.id)).toMatchObject({ type: 'subscribed' })
    // a frame over Bun's hard limit closes the socket with 1009
    c.send('x'.repeat(70_000))
    expect((await c.closed).code).toBe(1009)
  })

  test('a socket without auth in time, or with a message before auth, or a bad token, is closed with 4001', async () => {
    const idle = new Client(url)
    await idle.opened
    expect(await idle.closed).toEqual({ code: 4001, reason: 'no auth message in time' })
    const early = new Client(url)
    await early.opened
    early.send({ type: 'ping' })
    expect((await early.closed).code).toBe(4001)
    const bad = new Client(url)
    await bad.opened
    bad.send({ type: 'auth', token: 'tb_nope' })
    expect((await bad.closed).code).toBe(4001)
  })

  test('subscriptions per connection are capped', async () => {
    const [u] = await users(ctx, 1)
    const projects = await Promise.all([1, 2, 3, 4].map(() => makeProject(ctx, u!)))
    const c = await Client.connect(url, u!.token)
    for (const p of projects.slice(0, 3)) await c.subscribe(p.id)
    c.send({ type: 'subscribe', project_id: projects[3]!.id })
    expect(await c.next()).toMatchObject({ type: 'error', code: 'too_many_subscriptions' })
    c.send({ type: 'unsubscribe', project_id: projects[0]!.id })
    expect(await c.next()).toMatchObject({ type: 'unsubscribed', reason: 'requested' })
    expect(await c.subscribe(projects[3]!.id)).toMatchObject({ type: 'subscribed' })
    await c.close()
  })

  test('resume: 100 events missed while away, by concurrent writers, come back in order, then live ones', async () => {
    const { owner, editor, project } = await team(ctx)
    const c = await Client.subscribed(url, owner.token, project.id)
    await makeTask(ctx, owner, project.id)
    const seen = await c.event()
    await c.close()
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        makeTask(ctx, i % 2 ? owner : editor, project.id, { title: `t${i}` }),
      ),
    )
    const back = await Client.connect(url, owner.token)
    await back.subscribe(project.id, seen.id)
    const replayed = await back.events(100)
    const feed = await ctx.req('GET', `${API}/projects/${project.id}/activity?page_size=100`, {
      token: owner.token,
    })
    expect(replayed.map((e) => e.id)).toEqual(feed.body.items.map((e: { id: string }) => e.id).reverse())
    const live = await makeTask(ctx, editor, project.id)
    const next = await back.event()
    expect(next.data.id).toBe(live.id)
    back.send({ type: 'ping' })
    expect(await back.next()).toEqual({ type: 'pong' }) // nothing twice
    await back.close()
  })

  test('events committed while the replay runs come after it, once', async () => {
    const { owner, project } = await team(ctx)
    const first = await makeTask(ctx, owner, project.id)
    const feed = await ctx.req('GET', `${API}/projects/${project.id}/activity`, { token: owner.token })
    const since = feed.body.items[0].id
    await Promise.all(Array.from({ length: 30 }, () => makeTask(ctx, owner, project.id)))
    const c = await Client.connect(url, owner.token)
    c.send({ type: 'subscribe', project_id: project.id, since })
    const during = Promise.all(Array.from({ length: 30 }, () => makeTask(ctx, owner, project.id)))
    await c.next('subscribed')
    await during
    const got = await c.events(60)
    expect(new Set(got.map((e) => e.id)).size).toBe(60)
    expect(got.every((e) => e.data.id !== first.id)).toBe(true)
    const all = await ctx.req('GET', `${API}/projects/${project.id}/activity?page_size=60`, {
      token: owner.token,
    })
    expect(got.map((e) => e.id)).toEqual(all.body.items.map((e: { id: string }) => e.id).reverse())
    c.send({ type: 'ping' })
    expect(await c.next()).toEqual({ type: 'pong' })
    await c.close()
  })

  test('a since that is not in the history gets resync_required, then live events', async () => {
    const { owner, project } = await team(ctx)
    const c = await Client.connect(url, owner.token)
    c.send({ type: 'subscribe', project_id: project.id, since: MISSING_ID })
    await c.next('subscribed')
    expect(await c.next()).toMatchObject({ type: 'resync_required', project_id: project.id })
    const task = await makeTask(ctx, owner, project.id)
    expect((await c.event()).data.id).toBe(task.id)
    await c.close()
  })

  test('a member removed from the project stops receiving its events at once', async () => {
    const { owner, editor, project } = await team(ctx)
    const watcher = await Client.subscribed(url, owner.token, project.id)
    const removed = await Client.subscribed(url, editor.token, project.id)
    const res = await ctx.req('DELETE', `${API}/projects/${project.id}/members/${editor.id}`, {
      token: owner.token,
    })
    expect(res.status).toBe(204)
    const gone = await removed.event()
    expect(gone).toMatchObject({ type: 'member.removed', data: { user: { id: editor.id } } })
    expect(await removed.next()).toEqual({ type: 'unsubscribed', project_id: project.id, reason: 'removed' })
    await makeTask(ctx, owner, project.id)
    await watcher.events(2) // member.removed, task.created
    removed.send({ type: 'ping' })
    expect(await removed.next()).toEqual({ type: 'pong' })
    // and a new subscription is refused like any stranger's
    removed.send({ type: 'subscribe', project_id: project.id })
    expect(await removed.next()).toMatchObject({ type: 'error', code: 'not_found' })
    await Promise.all([watcher.close(), removed.close()])
  })

  test('logout closes the session’s sockets with 4001; a deactivated account’s too', async () => {
    const { owner, editor, project } = await team(ctx)
    const c = await Client.subscribed(url, owner.token, project.id)
    expect((await ctx.req('POST', `${API}/auth/logout`, { token: owner.token })).status).toBe(204)
    expect(await c.closed).toMatchObject({ code: 4001 })
    const d = await Client.connect(url, editor.token)
    await ctx.db.update(usersTable).set({ isActive: false }).where(eq(usersTable.id, editor.id))
    expect(await d.closed).toMatchObject({ code: 4001 })
  })

  test('an API token authenticates a socket; revoking it closes the socket', async () => {
    const { owner, project } = await team(ctx)
    const made = await ctx.req('POST', `${API}/users/me/tokens`, {
      token: owner.token,
      body: { name: 'rt', scope: 'read' },
    })
    expect(made.status).toBe(201)
    const c = await Client.subscribed(url, made.body.token, project.id)
    expect(
      (await ctx.req('DELETE', `${API}/users/me/tokens/${made.body.id}`, { token: owner.token })).status,
    ).toBe(204)
    expect((await c.closed).code).toBe(4001)
  })

  test('an expired access token closes the socket unless a fresh one is sent', async () => {
    const [u] = await users(ctx, 1)
    const [session] = await ctx.db.select().from(sessions).where(eq(sessions.userId, u!.id))
    // exp is in whole seconds: sign just after a second starts, so the token lives about 1 s
    await Bun.sleep(1000 - (Date.now() % 1000) + 5)
    const short = await ctx.jwt.signAccess(u!.id, session!.id, 1)
    const c = await Client.connect(url, short.token)
    const renewed = await Client.connect(url, short.token)
    renewed.send({ type: 'auth', token: u!.token })
    expect(await renewed.next()).toEqual({ type: 'authenticated', user_id: u!.id })
    expect(await c.closed).toEqual({ code: 4001, reason: 'access token expired' })
    renewed.send({ type: 'ping' })
    expect(await renewed.next()).toEqual({ type: 'pong' })
    await renewed.close()
  })

  test('shutdown closes every socket with 1001 (going away)', async () => {
    const other = await createTestApp()
    const otherUrl = listen(other)
    const [u] = await users(other, 1)
    const c = await Client.connect(otherUrl, u!.token)
    await stop(other)
    expect((await c.closed).code).toBe(1001)
  })
})

describe('the per-caller rate limit', () => {
  test('an upgrade or auth message spends from the reads budget: a 429 with RateLimit headers, or a 4029 close', async () => {
    const limited = await createTestApp({ env: { RATE_LIMIT_READS_PER_MINUTE: '2' } })
    const limitedUrl = listen(limited)
    try {
      const [u] = await users(limited, 1)
      const first = await Client.connect(limitedUrl, u!.token)
      const second = new Client(limitedUrl)
      await second.opened
      second.send({ type: 'auth', token: u!.token })
      expect((await second.next()).type).toBe('authenticated')
      // the budget (2 a minute) is spent: the upgrade is refused before it happens...
      const res = await limited.req('GET', `${API}/realtime`, { headers: upgradeHeaders(u!.token) })
      expectProblem(res, 429, 'rate_limited')
      expect(res.headers.get('ratelimit-policy')).toBe('"reads";q=2;w=60')
      expect(res.headers.get('ratelimit')).toMatch(/^"reads";r=0;t=\d+$/)
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
      // ...and an auth message closes its socket with 4029
      const third = new Client(limitedUrl)
      await third.opened
      third.send({ type: 'auth', token: u!.token })
      expect(await third.closed).toEqual({ code: 4029, reason: expect.stringContaining('rate') })
      // the sockets already open are not touched
      expect(first.ws.readyState).toBe(WebSocket.OPEN)
      await Promise.all([first.close(), second.close()])
    } finally {
      await stop(limited)
    }
  })
})

describe('caps and slow readers', () => {
  let small: TestContext
  let smallUrl: string
  beforeAll(async () => {
    small = await createTestApp({
      env: { REALTIME_MAX_CONNECTIONS_PER_USER: '2', REALTIME_SEND_BUFFER_BYTES: '262144' },
    })
    smallUrl = listen(small)
  })
  afterAll(() => stop(small))

  test('connections per user are capped: a 429 before the upgrade, or a 4029 close after an auth message', async () => {
    const [u] = await users(small, 1)
    const open = await Promise.all([Client.connect(smallUrl, u!.token), Client.connect(smallUrl, u!.token)])
    const res = await small.req('GET', `${API}/realtime`, { headers: upgradeHeaders(u!.token) })
    expectProblem(res, 429, 'rate_limited')
    expect(res.headers.get('retry-after')).toBe('5')
    const third = new Client(smallUrl)
    await third.opened
    third.send({ type: 'auth', token: u!.token })
    expect((await third.closed).code).toBe(4029)
    await open[0].close()
    // the place is free again once a socket closes
    const again = await Client.connect(smallUrl, u!.token)
    await Promise.all([again.close(), open[1].close()])
  })

  test('an upgrade the server cannot make (no Sec-WebSocket-Key) is a 426 and gives its place back', async () => {
    const [u] = await users(small, 1)
    const http = smallUrl.replace('ws://', 'http://')
    for (let i = 0; i < 3; i++) {
      const res = await fetch(http, {
        headers: { upgrade: 'websocket', connection: 'Upgrade', authorization: `Bearer ${u!.token}` },
      })
      expect(res.status).toBe(426)
      expect(((await res.json()) as { code: string }).code).toBe('upgrade_required')
    }
    // three failed upgrades against a cap of two: the places were released, two sockets still open
    const open = await Promise.all([Client.connect(smallUrl, u!.token), Client.connect(smallUrl, u!.token)])
    await Promise.all(open.map((c) => c.close()))
  })

  test('a client that stops reading is cut off (4009) while another keeps every event', async () => {
    const { owner, project } = await team(small)
    const task = await makeTask(small, owner, project.id)
    const reader = await Client.subscribed(smallUrl, owner.token, project.id)
    const stalled = await Client.subscribed(smallUrl, owner.token, project.id)
    ;(stalled.ws as WebSocket & { pause(): void }).pause()
    const before = small.app.decorator.realtime.connections
    // each event carries ~150 KB (the description, and its old and new value): 60 of them are far
    // more than the kernel's socket buffers and the 256 KiB the server allows beyond them
    for (let i = 0; i < 60; i++) {
      // the readers share this thread with the server: let them read between writes (the
      // embedded database answers without I/O, so awaiting it alone never polls the sockets)
      await Bun.sleep(5)
      const res = await small.req('PATCH', `${API}/tasks/${task.id}`, {
        token: owner.token,
        body: { description: `${i}`.padEnd(50_000, String.fromCharCode(97 + (i % 26))) },
      })
      expect(res.status).toBe(200)
    }
    expect((await reader.events(60)).length).toBe(60)
    expect(small.app.decorator.realtime.connections).toBe(before - 1)
    expect(small.logs.lines.some((l) => l.includes('realtime client too slow'))).toBe(true)
    ;(stalled.ws as WebSocket & { resume(): void }).resume()
    expect((await stalled.closed).code).toBe(4009)
    await reader.close()
  })
})
