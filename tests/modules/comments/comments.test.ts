import { describe, expect, test } from 'bun:test'
import { and, eq } from 'drizzle-orm'
import { events } from '../../../src/db/schema'
import { expectProblem } from '../../helpers/app'
import { countQueries } from '../../helpers/db'
import { API, MISSING_ID, makeTask, team, testApp } from '../../helpers/projects-fixtures'

async function setup() {
  const ctx = await testApp()
  const t = await team(ctx)
  const task = await makeTask(ctx, t.owner, t.project.id)
  return { ctx, ...t, task }
}

describe('comments', () => {
  test('editor comments; body stored verbatim; list oldest first, paginated; events', async () => {
    const { ctx, editor, owner, viewer, task, project } = await setup()
    const body = '<script>x</script> **bold**\n\n```sql\nselect 1;\n```'
    const res = await ctx.req('POST', `${API}/tasks/${task.id}/comments`, {
      token: editor.token,
      body: { body },
    })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({ task_id: task.id, author_id: editor.id, body, version: 1 })
    expect(res.headers.get('location')).toBe(`/api/v1/comments/${res.body.id}`)
    expect(res.headers.get('etag')).toBe('"1"')
    const second = await ctx.req('POST', `${API}/tasks/${task.id}/comments`, {
      token: owner.token,
      body: { body: 'two' },
    })
    const list = await ctx.req('GET', `${API}/tasks/${task.id}/comments?page_size=1`, { token: viewer.token })
    expect(list.body).toMatchObject({ total: 2, pages: 2 })
    expect(list.body.items[0].id).toBe(res.body.id)
    const p2 = await ctx.req('GET', `${API}/tasks/${task.id}/comments?page=2&page_size=1`, {
      token: viewer.token,
    })
    expect(p2.body.items[0].id).toBe(second.body.id)
    const got = await ctx.req('GET', `${API}/comments/${res.body.id}`, { token: viewer.token })
    expect(got.body).toEqual(res.body)
    expect(got.headers.get('etag')).toBe('"1"')
    const evs = await ctx.db
      .select()
      .from(events)
      .where(and(eq(events.projectId, project.id), eq(events.type, 'comment.created')))
    expect(evs.length).toBe(2)
    const { count } = await countQueries(() =>
      ctx.req('GET', `${API}/tasks/${task.id}/comments`, { token: viewer.token }),
    )
    expect(count).toBeLessThanOrEqual(4)
  })

  test('validation and authorization on create', async () => {
    const { ctx, viewer, outsider, editor, task } = await setup()
    const url = `${API}/tasks/${task.id}/comments`
    for (const body of [
      {},
      { body: '' },
      { body: 'x'.repeat(10_001) },
      { body: 'ok', author_id: editor.id },
      { body: 'ok', task_id: MISSING_ID },
    ])
      expectProblem(await ctx.req('POST', url, { token: editor.token, body }), 422)
    expect(
      (await ctx.req('POST', url, { token: editor.token, body: { body: 'x'.repeat(10_000) } })).status,
    ).toBe(201)
    expectProblem(await ctx.req('POST', url, { token: viewer.token, body: { body: 'hi' } }), 403)
    expectProblem(await ctx.req('POST', url, { token: outsider.token, body: { body: 'hi' } }), 404)
    expectProblem(await ctx.req('GET', url, { token: outsider.token }), 404)
    expectProblem(await ctx.req('POST', url, { body: { body: 'hi' } }), 401)
    expectProblem(
      await ctx.req('POST', `${API}/tasks/${MISSING_ID}/comments`, {
        token: editor.token,
        body: { body: 'hi' },
      }),
      404,
    )
  })

  test('only the author edits (403 for other members, 404 for outsiders); If-Match; events with changes', async () => {
    const { ctx, editor, owner, viewer, outsider, task, project } = await setup()
    const c = (
      await ctx.req('POST', `${API}/tasks/${task.id}/comments`, { token: editor.token, body: { body: 'v1' } })
    ).body
    const url = `${API}/comments/${c.id}`
    expectProblem(await ctx.req('PATCH', url, { token: owner.token, body: { body: 'hack' } }), 403)
    expectProblem(await ctx.req('PATCH', url, { token: viewer.token, body: { body: 'hack' } }), 403)
    expectProblem(await ctx.req('PATCH', url, { token: outsider.token, body: { body: 'hack' } }), 404)
    expectProblem(await ctx.req('GET', url, { token: outsider.token }), 404)
    expectProblem(
      await ctx.req('PATCH', url, { token: editor.token, body: { body: 'v2', author_id: owner.id } }),
      422,
    )
    expectProblem(
      await ctx.req('PATCH', url, {
        token: editor.token,
        body: { body: 'v2' },
        headers: { 'if-match': '"5"' },
      }),
      412,
    )
    const ok = await ctx.req('PATCH', url, {
      token: editor.token,
      body: { body: 'v2' },
      headers: { 'if-match': '"1"' },
    })
    expect(ok.status).toBe(200)
    expect(ok.body).toMatchObject({ body: 'v2', version: 2 })
    expect(ok.headers.get('etag')).toBe('"2"')
    const same = await ctx.req('PATCH', url, { token: editor.token, body: { body: 'v2' } })
    expect(same.body.version).toBe(2)
    const [ev] = await ctx.db
      .select()
      .from(events)
      .where(and(eq(events.projectId, project.id), eq(events.type, 'comment.updated')))
    expect((ev!.data as any).changes).toEqual({ body: ['v1', 'v2'] })
  })

  test('delete by the author or the project owner; not by other members', async () => {
    const { ctx, editor, owner, viewer, outsider, task, project } = await setup()
    const mk = async () =>
      (
        await ctx.req('POST', `${API}/tasks/${task.id}/comments`, {
          token: editor.token,
          body: { body: 'x' },
        })
      ).body
    const a = await mk()
    const b = await mk()
    const ownerComment = (
      await ctx.req('POST', `${API}/tasks/${task.id}/comments`, { token: owner.token, body: { body: 'o' } })
    ).body
    expectProblem(await ctx.req('DELETE', `${API}/comments/${a.id}`, { token: viewer.token }), 403)
    expectProblem(await ctx.req('DELETE', `${API}/comments/${a.id}`, { token: outsider.token }), 404)
    expectProblem(await ctx.req('DELETE', `${API}/comments/${ownerComment.id}`, { token: editor.token }), 403)
    expectProblem(
      await ctx.req('DELETE', `${API}/comments/${a.id}`, {
        token: editor.token,
        headers: { 'if-match': '"9"' },
      }),
      412,
    )
    expect((await ctx.req('DELETE', `${API}/comments/${a.id}`, { token: editor.token })).status).toBe(204)
    expect((await ctx.req('DELETE', `${API}/comments/${b.id}`, { token: owner.token })).status).toBe(204)
    expectProblem(await ctx.req('GET', `${API}/comments/${a.id}`, { token: owner.token }), 404)
    const evs = await ctx.db
      .select()
      .from(events)
      .where(and(eq(events.projectId, project.id), eq(events.type, 'comment.deleted')))
    expect(evs.length).toBe(2)
  })

  test('comments of a deleted task or project are gone', async () => {
    const { ctx, owner, editor, task, project } = await setup()
    const c = (
      await ctx.req('POST', `${API}/tasks/${task.id}/comments`, { token: editor.token, body: { body: 'x' } })
    ).body
    await ctx.req('DELETE', `${API}/projects/${project.id}`, { token: owner.token })
    expectProblem(await ctx.req('GET', `${API}/comments/${c.id}`, { token: owner.token }), 404)
    await ctx.req('POST', `${API}/projects/${project.id}/restore`, { token: owner.token })
    await ctx.req('DELETE', `${API}/tasks/${task.id}`, { token: owner.token })
    expectProblem(await ctx.req('GET', `${API}/comments/${c.id}`, { token: owner.token }), 404)
  })
})
