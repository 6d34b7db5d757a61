import { describe, expect, test } from 'bun:test'
import { and, eq } from 'drizzle-orm'
import { events, projects } from '../../../src/db/schema'
import { createUser, expectProblem } from '../../helpers/app'
import { countQueries } from '../../helpers/db'
import { API, MISSING_ID, makeProject, makeTask, team, testApp } from '../../helpers/projects-fixtures'

describe('POST /projects/{id}/tasks', () => {
  test('creates a task with defaults, number, ETag, Location and a task.created event', async () => {
    const ctx = await testApp()
    const { project, editor } = await team(ctx)
    const res = await ctx.req('POST', `${API}/projects/${project.id}/tasks`, {
      token: editor.token,
      body: { title: '  <b>Write</b> docs ', labels: ['<i>docs</i>', 'docs', 'v1'], due_date: '2026-12-01' },
    })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({
      project_id: project.id,
      number: 1,
      title: 'Write docs',
      description: '',
      status: 'todo',
      priority: 'medium',
      assignee_id: null,
      labels: ['docs', 'v1'],
      due_date: '2026-12-01',
      completed_at: null,
      created_by: editor.id,
      version: 1,
    })
    expect(res.headers.get('location')).toBe(`/api/v1/tasks/${res.body.id}`)
    expect(res.headers.get('etag')).toBe('"1"')
    const got = await ctx.req('GET', `${API}/tasks/${res.body.id}`, { token: editor.token })
    expect(got.body).toEqual(res.body)
    expect(got.headers.get('etag')).toBe('"1"')
    const [ev] = await ctx.db
      .select()
      .from(events)
      .where(and(eq(events.projectId, project.id), eq(events.type, 'task.created')))
    expect(ev!.data).toEqual(res.body) // the whole task, number included, as the client saw it
    const p = await ctx.req('GET', `${API}/projects/${project.id}`, { token: editor.token })
    expect(p.body.task_count).toBe(1)
  })

  test('a task created as done has completed_at', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    const t = await makeTask(ctx, me, p.id, { status: 'done' })
    expect(t.completed_at).toMatch(/Z$/)
  })

  test('validation: title, status, priority, labels, dates, unknown fields', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    for (const body of [
      {},
      { title: '' },
      { title: '<p> </p>' },
      { title: 'x'.repeat(501) },
      { title: 't', status: 'open' },
      { title: 't', priority: 'critical' },
      { title: 't', labels: Array.from({ length: 21 }, (_, i) => `l${i}`) },
      { title: 't', labels: ['x'.repeat(51)] },
      { title: 't', labels: ['<b></b>'] },
      { title: 't', labels: 'a' },
      { title: 't', due_date: '2026-02-30' },
      { title: 't', due_date: '2026-13-01' },
      { title: 't', due_date: '2026-1-1' },
      { title: 't', due_date: 'tomorrow' },
      { title: 't', assignee_id: 'me' },
      { title: 't', id: MISSING_ID },
      { title: 't', project_id: MISSING_ID },
      { title: 't', number: 7 },
      { title: 't', version: 3 },
      { title: 't', created_by: me.id },
    ])
      expectProblem(
        await ctx.req('POST', `${API}/projects/${p.id}/tasks`, { token: me.token, body }),
        422,
        'validation_failed',
      )
    expect((await makeTask(ctx, me, p.id, { due_date: '2028-02-29' })).due_date).toBe('2028-02-29')
  })

  test('401 without token, 403 for viewers, 404 for outsiders and unknown projects', async () => {
    const ctx = await testApp()
    const { project, viewer, outsider } = await team(ctx)
    const url = `${API}/projects/${project.id}/tasks`
    expectProblem(await ctx.req('POST', url, { body: { title: 't' } }), 401)
    expectProblem(await ctx.req('POST', url, { token: viewer.token, body: { title: 't' } }), 403, 'forbidden')
    expectProblem(await ctx.req('POST', url, { token: outsider.token, body: { title: 't' } }), 404)
    expectProblem(
      await ctx.req('POST', `${API}/projects/${MISSING_ID}/tasks`, {
        token: outsider.token,
        body: { title: 't' },
      }),
      404,
    )
  })

  test('a create is one statement (the role is checked inside it); refusals still say 403 or 404, and change nothing', async () => {
    const ctx = await testApp()
    const { project, owner, editor, viewer, outsider } = await team(ctx)
    const url = `${API}/projects/${project.id}/tasks`
    await makeTask(ctx, owner, project.id)
    await ctx.req('GET', `${API}/users/me`, { token: editor.token })
    const { count, result } = await countQueries(() =>
      ctx.req('POST', url, { token: editor.token, body: { title: 'one statement' } }),
    )
    expect(result.status).toBe(201)
    // PostgreSQL adds the token's check; the embedded server has it cached (used just above)
    expect(count).toBe(ctx.database.kind === 'pglite' ? 1 : 2)
    const before = (await ctx.req('GET', `${API}/projects/${project.id}`, { token: owner.token })).body
      .task_count
    expectProblem(await ctx.req('POST', url, { token: viewer.token, body: { title: 't' } }), 403, 'forbidden')
    expectProblem(
      await ctx.req('POST', url, { token: outsider.token, body: { title: 't' } }),
      404,
      'not_found',
    )
    // a bad due date from an outsider is still a 404 first, as before any check of the body
    expectProblem(
      await ctx.req('POST', url, { token: outsider.token, body: { title: 't', due_date: '2030-02-30' } }),
      404,
    )
    expectProblem(
      await ctx.req('POST', url, { token: editor.token, body: { title: 't', due_date: '2030-02-30' } }),
      422,
    )
    expect(
      (await ctx.req('GET', `${API}/projects/${project.id}`, { token: owner.token })).body.task_count,
    ).toBe(before)
    expect((await ctx.req('DELETE', `${API}/projects/${project.id}`, { token: owner.token })).status).toBe(
      204,
    )
    expectProblem(await ctx.req('POST', url, { token: editor.token, body: { title: 't' } }), 404)
  })

  test('50 concurrent creates in one project get numbers 1..50, each once', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    const res = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        ctx.req('POST', `${API}/projects/${p.id}/tasks`, { token: me.token, body: { title: `t${i}` } }),
      ),
    )
    for (const r of res) expect(r.status).toBe(201)
    expect(res.map((r) => r.body.number).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    )
    const [row] = await ctx.db.select().from(projects).where(eq(projects.id, p.id))
    expect(row!.taskSeq).toBe(50)
    expect(row!.taskCount).toBe(50)
  })

  test('numbers are never reused after a delete', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    await makeTask(ctx, me, p.id)
    const t2 = await makeTask(ctx, me, p.id)
    expect((await ctx.req('DELETE', `${API}/tasks/${t2.id}`, { token: me.token })).status).toBe(204)
    expect((await makeTask(ctx, me, p.id)).number).toBe(3)
    expect((await ctx.req('GET', `${API}/projects/${p.id}`, { token: me.token })).body.task_count).toBe(2)
  })
})

describe('GET/PATCH/DELETE /tasks/{id}', () => {
  test('outsiders get 404 on a task by id; malformed ids 404; viewers read but cannot write', async () => {
    const ctx = await testApp()
    const { project, owner, viewer, outsider } = await team(ctx)
    const t = await makeTask(ctx, owner, project.id)
    for (const [m, body] of [['GET'], ['PATCH', { title: 'x' }], ['DELETE']] as const)
      expectProblem(
        await ctx.req(m, `${API}/tasks/${t.id}`, { token: outsider.token, body }),
        404,
        'not_found',
      )
    expectProblem(await ctx.req('GET', `${API}/tasks/123`, { token: owner.token }), 404)
    expectProblem(await ctx.req('GET', `${API}/tasks/${MISSING_ID}`, { token: owner.token }), 404)
    expect((await ctx.req('GET', `${API}/tasks/${t.id}`, { token: viewer.token })).status).toBe(200)
    expectProblem(
      await ctx.req('PATCH', `${API}/tasks/${t.id}`, { token: viewer.token, body: { title: 'x' } }),
      403,
    )
    expectProblem(await ctx.req('DELETE', `${API}/tasks/${t.id}`, { token: viewer.token }), 403)
    expectProblem(await ctx.req('GET', `${API}/tasks/${t.id}`), 401)
  })

  test('tasks of a deleted project are 404', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    const t = await makeTask(ctx, me, p.id)
    await ctx.req('DELETE', `${API}/projects/${p.id}`, { token: me.token })
    expectProblem(await ctx.req('GET', `${API}/tasks/${t.id}`, { token: me.token }), 404)
  })

  test('PATCH applies fields, manages completed_at, writes changes, rejects protected fields', async () => {
    const ctx = await testApp()
    const { project, owner, editor } = await team(ctx)
    const t = await makeTask(ctx, owner, project.id)
    const url = `${API}/tasks/${t.id}`
    const done = await ctx.req('PATCH', url, {
      token: editor.token,
      body: {
        status: 'done',
        assignee_id: editor.id,
        priority: 'urgent',
        labels: ['a'],
        due_date: '2027-01-31',
        description: '**md**',
      },
    })
    expect(done.status).toBe(200)
    expect(done.body).toMatchObject({
      status: 'done',
      assignee_id: editor.id,
      priority: 'urgent',
      labels: ['a'],
      due_date: '2027-01-31',
      description: '**md**',
      version: 2,
    })
    expect(done.body.completed_at).toMatch(/Z$/)
    expect(done.headers.get('etag')).toBe('"2"')
    const back = await ctx.req('PATCH', url, {
      token: editor.token,
      body: { status: 'in_progress', due_date: null, assignee_id: null },
    })
    expect(back.body).toMatchObject({
      status: 'in_progress',
      completed_at: null,
      due_date: null,
      assignee_id: null,
      version: 3,
    })
    const noop = await ctx.req('PATCH', url, { token: editor.token, body: { status: 'in_progress' } })
    expect(noop.body.version).toBe(3)
    for (const body of [
      { id: MISSING_ID },
      { project_id: MISSING_ID },
      { number: 9 },
      { created_by: owner.id },
      { version: 1 },
      { status: 'nope' },
      { due_date: '2026-02-30' },
      { title: '' },
    ])
      expectProblem(await ctx.req('PATCH', url, { token: editor.token, body }), 422)
    expectProblem(
      await ctx.req('PATCH', url, { token: editor.token, body: { assignee_id: MISSING_ID } }),
      422,
    )
    const evs = await ctx.db
      .select()
      .from(events)
      .where(and(eq(events.projectId, project.id), eq(events.type, 'task.updated')))
    const first = evs.find((e) => (e.data as any).version === 2)!.data as any
    expect(first.changes.status).toEqual(['todo', 'done'])
    expect(first.changes.assignee_id).toEqual([null, editor.id])
    expect(first.changes.title).toBeUndefined()
  })

  test('If-Match on PATCH and DELETE; stale is 412', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    const t = await makeTask(ctx, me, p.id)
    const url = `${API}/tasks/${t.id}`
    expectProblem(
      await ctx.req('PATCH', url, { token: me.token, body: { title: 'a' }, headers: { 'if-match': '"2"' } }),
      412,
    )
    expect(
      (
        await ctx.req('PATCH', url, {
          token: me.token,
          body: { title: 'a' },
          headers: { 'if-match': 'W/"1"' },
        })
      ).body.version,
    ).toBe(2)
    expectProblem(await ctx.req('DELETE', url, { token: me.token, headers: { 'if-match': '"1"' } }), 412)
    expect((await ctx.req('DELETE', url, { token: me.token, headers: { 'if-match': '"2"' } })).status).toBe(
      204,
    )
    expectProblem(await ctx.req('GET', url, { token: me.token }), 404)
    const [ev] = await ctx.db
      .select()
      .from(events)
      .where(and(eq(events.projectId, p.id), eq(events.type, 'task.deleted')))
    expect((ev!.data as any).title).toBe('a')
  })

  test('concurrent PATCHes: every one applies once, version ends at 1 + n', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    const t = await makeTask(ctx, me, p.id)
    const res = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        ctx.req('PATCH', `${API}/tasks/${t.id}`, { token: me.token, body: { title: `v${i}` } }),
      ),
    )
    for (const r of res) expect(r.status).toBe(200)
    expect(res.map((r) => r.body.version).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 2),
    )
    expect((await ctx.req('GET', `${API}/tasks/${t.id}`, { token: me.token })).body.version).toBe(11)
  })

  test('GET task resolves task, project and role in one query', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    const t = await makeTask(ctx, me, p.id)
    const get = () => countQueries(() => ctx.req('GET', `${API}/tasks/${t.id}`, { token: me.token }))
    // PostgreSQL: the token's check, then task, project and role joined. Embedded: the token is
    // cached (makeTask used it); the task by its key, then the access (the create changed the
    // project, so it is not cached yet), and from then on only the task
    expect((await get()).count).toBe(2)
    expect((await get()).count).toBe(ctx.database.kind === 'pglite' ? 1 : 2)
  })
})
