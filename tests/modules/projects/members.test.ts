import { describe, expect, test } from 'bun:test'
import { and, eq } from 'drizzle-orm'
import { events } from '../../../src/db/schema'
import { createUser, expectProblem } from '../../helpers/app'
import { countQueries } from '../../helpers/db'
import { API, MISSING_ID, makeProject, makeTask, team, testApp, users } from '../../helpers/projects-fixtures'

describe('members', () => {
  test('lists members with user, role and added_at, paginated, oldest first', async () => {
    const ctx = await testApp()
    const { project, owner, editor, viewer } = await team(ctx)
    const res = await ctx.req('GET', `${API}/projects/${project.id}/members?page_size=2`, {
      token: viewer.token,
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ total: 3, page: 1, page_size: 2, pages: 2 })
    expect(res.body.items[0]).toEqual({
      user: { id: owner.id, username: owner.username, full_name: expect.any(String) },
      role: 'owner',
      added_at: expect.stringMatching(/Z$/),
    })
    expect(res.body.items[1].user.id).toBe(editor.id)
    const p2 = await ctx.req('GET', `${API}/projects/${project.id}/members?page=2&page_size=2`, {
      token: viewer.token,
    })
    expect(p2.body.items.map((m: any) => m.user.id)).toEqual([viewer.id])
    expect(Object.keys(p2.body.items[0].user).sort()).toEqual(['full_name', 'id', 'username'])
  })

  test('list costs a bounded number of queries', async () => {
    const ctx = await testApp()
    const { project, owner } = await team(ctx)
    const { count } = await countQueries(() =>
      ctx.req('GET', `${API}/projects/${project.id}/members`, { token: owner.token }),
    )
    expect(count).toBeLessThanOrEqual(4)
  })

  test('owner adds by user_id; the Location reads the new member; events are written', async () => {
    const ctx = await testApp()
    const [owner, a, b] = await users(ctx, 3)
    const p = await makeProject(ctx, owner!)
    const byId = await ctx.req('POST', `${API}/projects/${p.id}/members`, {
      token: owner!.token,
      body: { user_id: a!.id, role: 'viewer' },
    })
    expect(byId.status).toBe(201)
    expect(byId.body.role).toBe('viewer')
    expect(byId.headers.get('location')).toBe(`/api/v1/projects/${p.id}/members/${a!.id}`)
    // the new member (and the owner) can read it there
    for (const token of [owner!.token, a!.token]) {
      const read = await ctx.req('GET', byId.headers.get('location')!, { token })
      expect(read.status).toBe(200)
      expect(read.body).toEqual(byId.body)
    }
    expect(
      (
        await ctx.req('POST', `${API}/projects/${p.id}/members`, {
          token: owner!.token,
          body: { user_id: b!.id, role: 'editor' },
        })
      ).status,
    ).toBe(201)
    const evs = await ctx.db
      .select()
      .from(events)
      .where(and(eq(events.projectId, p.id), eq(events.type, 'member.added')))
    expect(evs.length).toBe(2)
  })

  test('GET one member: a stranger and a non-member id are 404', async () => {
    const ctx = await testApp()
    const { project, owner, outsider } = await team(ctx)
    const url = (id: string) => `${API}/projects/${project.id}/members/${id}`
    expectProblem(await ctx.req('GET', url(owner.id), { token: outsider.token }), 404, 'not_found')
    expectProblem(await ctx.req('GET', url(outsider.id), { token: owner.token }), 404, 'not_found')
    expectProblem(await ctx.req('GET', url('not-a-uuid'), { token: owner.token }), 404)
    expectProblem(await ctx.req('GET', url(owner.id)), 401)
  })

  test('adding by email is refused whether or not the address is registered: nothing is revealed', async () => {
    const ctx = await testApp()
    const { project, owner, outsider } = await team(ctx)
    const url = `${API}/projects/${project.id}/members`
    const known = expectProblem(
      await ctx.req('POST', url, { token: owner.token, body: { email: outsider.email, role: 'editor' } }),
      422,
    )
    const unknown = expectProblem(
      await ctx.req('POST', url, {
        token: owner.token,
        body: { email: 'nobody@nowhere.test', role: 'editor' },
      }),
      422,
    )
    expect(known.errors).toEqual(unknown.errors)
    const list = await ctx.req('GET', url, { token: owner.token })
    expect(list.body.items.map((m: { user: { id: string } }) => m.user.id)).not.toContain(outsider.id)
  })

  test('add: validation, unknown user 422, duplicate 409, non-owner 403, outsider 404', async () => {
    const ctx = await testApp()
    const { project, owner, editor, viewer, outsider } = await team(ctx)
    const url = `${API}/projects/${project.id}/members`
    for (const body of [
      { role: 'editor' },
      { user_id: outsider.id, email: outsider.email, role: 'editor' },
      { user_id: outsider.id, role: 'owner' },
      { user_id: outsider.id, role: 'editor', project_id: project.id },
      { user_id: 'nope', role: 'editor' },
    ])
      expectProblem(await ctx.req('POST', url, { token: owner.token, body }), 422)
    const unknown = expectProblem(
      await ctx.req('POST', url, { token: owner.token, body: { user_id: MISSING_ID, role: 'editor' } }),
      422,
    )
    expect(unknown.errors?.[0]?.field).toBe('user_id')
    expectProblem(
      await ctx.req('POST', url, { token: owner.token, body: { user_id: editor.id, role: 'viewer' } }),
      409,
    )
    expectProblem(
      await ctx.req('POST', url, { token: owner.token, body: { user_id: owner.id, role: 'viewer' } }),
      409,
    )
    expectProblem(
      await ctx.req('POST', url, { token: editor.token, body: { user_id: outsider.id, role: 'viewer' } }),
      403,
    )
    expectProblem(
      await ctx.req('POST', url, { token: viewer.token, body: { user_id: outsider.id, role: 'viewer' } }),
      403,
    )
    expectProblem(
      await ctx.req('POST', url, { token: outsider.token, body: { user_id: outsider.id, role: 'viewer' } }),
      404,
    )
    expectProblem(await ctx.req('GET', url, { token: outsider.token }), 404)
  })

  test('owner changes roles; cannot set owner (422) nor change the owner (409)', async () => {
    const ctx = await testApp()
    const { project, owner, editor, viewer, outsider } = await team(ctx)
    const url = (id: string) => `${API}/projects/${project.id}/members/${id}`
    const res = await ctx.req('PATCH', url(viewer.id), { token: owner.token, body: { role: 'editor' } })
    expect(res.status).toBe(200)
    expect(res.body.role).toBe('editor')
    const same = await ctx.req('PATCH', url(viewer.id), { token: owner.token, body: { role: 'editor' } })
    expect(same.status).toBe(200)
    expectProblem(
      await ctx.req('PATCH', url(viewer.id), { token: owner.token, body: { role: 'owner' } }),
      422,
    )
    expectProblem(
      await ctx.req('PATCH', url(viewer.id), { token: owner.token, body: { role: 'viewer', x: 1 } }),
      422,
    )
    expectProblem(
      await ctx.req('PATCH', url(owner.id), { token: owner.token, body: { role: 'viewer' } }),
      409,
    )
    expectProblem(
      await ctx.req('PATCH', url(outsider.id), { token: owner.token, body: { role: 'viewer' } }),
      404,
    )
    expectProblem(
      await ctx.req('PATCH', url(viewer.id), { token: editor.token, body: { role: 'viewer' } }),
      403,
    )
    const ev = await ctx.db
      .select()
      .from(events)
      .where(and(eq(events.projectId, project.id), eq(events.type, 'member.updated')))
    expect(ev.length).toBe(1)
    expect((ev[0]!.data as any).changes).toEqual({ role: ['viewer', 'editor'] })
  })

  test('remove: owner removes others, members leave, owner cannot leave (409), others 403', async () => {
    const ctx = await testApp()
    const { project, owner, editor, viewer, outsider } = await team(ctx)
    const url = (id: string) => `${API}/projects/${project.id}/members/${id}`
    expectProblem(await ctx.req('DELETE', url(viewer.id), { token: editor.token }), 403)
    expectProblem(await ctx.req('DELETE', url(owner.id), { token: owner.token }), 409)
    expectProblem(await ctx.req('DELETE', url(outsider.id), { token: owner.token }), 404)
    expectProblem(await ctx.req('DELETE', url(viewer.id), { token: outsider.token }), 404)
    const leave = await ctx.req('DELETE', url(viewer.id), { token: viewer.token })
    expect(leave.status).toBe(204)
    expectProblem(await ctx.req('GET', `${API}/projects/${project.id}`, { token: viewer.token }), 404)
    expect((await ctx.req('DELETE', url(editor.id), { token: owner.token })).status).toBe(204)
    expectProblem(await ctx.req('GET', `${API}/projects/${project.id}`, { token: editor.token }), 404)
  })

  test('removing a member clears their open assignments with task.updated events, keeps closed ones', async () => {
    const ctx = await testApp()
    const { project, owner, editor } = await team(ctx)
    const open1 = await makeTask(ctx, owner, project.id, { assignee_id: editor.id })
    const open2 = await makeTask(ctx, owner, project.id, { assignee_id: editor.id, status: 'in_progress' })
    const done = await makeTask(ctx, owner, project.id, { assignee_id: editor.id, status: 'done' })
    const mine = await makeTask(ctx, owner, project.id, { assignee_id: owner.id })
    const res = await ctx.req('DELETE', `${API}/projects/${project.id}/members/${editor.id}`, {
      token: owner.token,
    })
    expect(res.status).toBe(204)
    const get = async (id: string) =>
      (await ctx.req('GET', `${API}/tasks/${id}`, { token: owner.token })).body
    expect((await get(open1.id)).assignee_id).toBeNull()
    expect((await get(open1.id)).version).toBe(2)
    expect((await get(open2.id)).assignee_id).toBeNull()
    expect((await get(done.id)).assignee_id).toBe(editor.id)
    expect((await get(mine.id)).assignee_id).toBe(owner.id)
    const evs = await ctx.db
      .select()
      .from(events)
      .where(and(eq(events.projectId, project.id), eq(events.type, 'task.updated')))
    expect(evs.map((e) => (e.data as any).id).sort()).toEqual([open1.id, open2.id].sort())
    expect((evs[0]!.data as any).changes).toEqual({ assignee_id: [editor.id, null] })
  })

  test('a non-member cannot be made assignee after leaving', async () => {
    const ctx = await testApp()
    const { project, owner, viewer } = await team(ctx)
    await ctx.req('DELETE', `${API}/projects/${project.id}/members/${viewer.id}`, { token: viewer.token })
    const u = await createUser(ctx)
    for (const id of [viewer.id, u.id])
      expectProblem(
        await ctx.req('POST', `${API}/projects/${project.id}/tasks`, {
          token: owner.token,
          body: { title: 't', assignee_id: id },
        }),
        422,
      )
  })
})
