import { describe, expect, test } from 'bun:test'
import { createUser, expectProblem } from '../../helpers/app'
import { API, addMember, makeProject, makeTask, testApp } from '../../helpers/projects-fixtures'

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)

describe('GET /users/me/dashboard', () => {
  test('counts, due soon and recent activity over my live projects', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const other = await createUser(ctx)
    const p1 = await makeProject(ctx, me)
    const p2 = await makeProject(ctx, other)
    await addMember(ctx, other, p2.id, me, 'editor')
    const gone = await makeProject(ctx, me)
    await makeTask(ctx, me, gone.id, { assignee_id: me.id })
    await ctx.req('DELETE', `${API}/projects/${gone.id}`, { token: me.token })
    await makeTask(ctx, me, p1.id, { assignee_id: me.id, due_date: day(-2) })
    const soon = []
    for (let i = 6; i >= 0; i--)
      soon.push(
        await makeTask(ctx, me, p1.id, {
          assignee_id: me.id,
          due_date: day(i),
          status: i % 2 ? 'in_progress' : 'todo',
        }),
      )
    await makeTask(ctx, other, p2.id, { assignee_id: me.id, status: 'done' })
    await makeTask(ctx, other, p2.id, { assignee_id: me.id, status: 'canceled', due_date: day(-1) })
    await makeTask(ctx, other, p2.id, { assignee_id: other.id, due_date: day(1) })
    const res = await ctx.req('GET', `${API}/users/me/dashboard`, { token: me.token })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      projects_total: 2,
      tasks_assigned_open: 8,
      tasks_overdue: 1,
      tasks_by_status: { todo: 5, in_progress: 3, done: 1, canceled: 1 },
    })
    expect(res.body.due_soon.map((t: any) => t.due_date)).toEqual([day(0), day(1), day(2), day(3), day(4)])
    expect(res.body.recent_activity.length).toBe(10)
    expect(res.body.recent_activity[0].type).toBe('task.created')
    expect(res.body.recent_activity.every((e: any) => e.project_id !== gone.id)).toBe(true)
  })

  test('an empty dashboard for a new user; 401 without token', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const res = await ctx.req('GET', `${API}/users/me/dashboard`, { token: me.token })
    expect(res.body).toEqual({
      projects_total: 0,
      tasks_assigned_open: 0,
      tasks_overdue: 0,
      tasks_by_status: { todo: 0, in_progress: 0, done: 0, canceled: 0 },
      due_soon: [],
      recent_activity: [],
    })
    expectProblem(await ctx.req('GET', `${API}/users/me/dashboard`), 401)
  })
})
