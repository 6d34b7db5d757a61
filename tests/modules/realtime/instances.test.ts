import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createDatabase, type Database } from '../../../src/db/client'
import { createTestApp, type TestContext } from '../../helpers/app'
import { usingPostgres } from '../../helpers/db'
import { API, makeTask, team } from '../../helpers/projects-fixtures'
import { Client, listen, stop } from '../../helpers/realtime'

if (!usingPostgres()) console.warn('skipped: realtime across two instances needs DATABASE_URL (PostgreSQL)')

describe.skipIf(!usingPostgres())('realtime across two instances on one PostgreSQL', () => {
  let a: TestContext
  let b: TestContext
  let second: Database
  let urlB: string

  beforeAll(async () => {
    a = await createTestApp({ env: { REALTIME_RECHECK_MS: '100' } })
    // instance B: its own pool and its own LISTEN connection, as another process would have
    second = await createDatabase({
      DATABASE_URL: process.env.DATABASE_URL,
      DATA_DIR: '',
      DB_POOL_MAX: 4,
      DB_STATEMENT_TIMEOUT_MS: 30_000,
    })
    b = await createTestApp({ env: { REALTIME_RECHECK_MS: '100' }, deps: { database: second } })
    listen(a)
    urlB = listen(b)
  })
  afterAll(async () => {
    await Promise.all([stop(a), stop(b)])
    await second.close()
  })

  test('an event made on A reaches a subscriber on B; a member removed on A stops receiving on B', async () => {
    const { owner, editor, project } = await team(a)
    const watcher = await Client.subscribed(urlB, owner.token, project.id)
    const member = await Client.subscribed(urlB, editor.token, project.id)
    const task = await makeTask(a, editor, project.id)
    expect((await watcher.event()).data.id).toBe(task.id)
    expect((await member.event()).data.id).toBe(task.id)
    const res = await a.req('DELETE', `${API}/projects/${project.id}/members/${editor.id}`, {
      token: owner.token,
    })
    expect(res.status).toBe(204)
    expect(await member.event()).toMatchObject({ type: 'member.removed', data: { user: { id: editor.id } } })
    expect(await member.next()).toEqual({ type: 'unsubscribed', project_id: project.id, reason: 'removed' })
    const after = await makeTask(a, owner, project.id)
    await watcher.event() // member.removed
    expect((await watcher.event()).data.id).toBe(after.id)
    member.send({ type: 'ping' })
    expect(await member.next()).toEqual({ type: 'pong' })
    await Promise.all([watcher.close(), member.close()])
  })

  test('100 events by concurrent writers on both instances reach B in commit order, once each', async () => {
    const { owner, editor, project } = await team(a)
    const watcher = await Client.subscribed(urlB, owner.token, project.id)
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        i % 2 ? makeTask(a, owner, project.id) : makeTask(b, editor, project.id),
      ),
    )
    const got = await watcher.events(100)
    const feed = await a.req('GET', `${API}/projects/${project.id}/activity?page_size=100`, {
      token: owner.token,
    })
    expect(got.map((e) => e.id)).toEqual(feed.body.items.map((e: { id: string }) => e.id).reverse())
    await watcher.close()
  })

  test('a logout on A closes the session’s socket on B', async () => {
    const { owner } = await team(a)
    const c = await Client.connect(urlB, owner.token)
    expect((await a.req('POST', `${API}/auth/logout`, { token: owner.token })).status).toBe(204)
    expect((await c.closed).code).toBe(4001)
  })
})
