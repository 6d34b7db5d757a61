import { describe, expect, test } from 'bun:test'
import { createUser, expectProblem, unique } from '../../helpers/app'
import { countQueries } from '../../helpers/db'
import { API, addMember, makeProject, makeTask, testApp, users } from '../../helpers/projects-fixtures'

describe('GET /projects', () => {
  test('lists only my projects with filters status, role, search and sorts', async () => {
    const ctx = await testApp()
    const [me, other] = await users(ctx, 2)
    const tag = unique('lst')
    const a = await makeProject(ctx, me!, { name: `B ${tag} alpha` })
    const b = await makeProject(ctx, me!, { name: `a ${tag} beta`, status: 'archived' })
    const c = await makeProject(ctx, other!, { name: `C ${tag} gamma`, description: 'has 100%_ match' })
    await addMember(ctx, other!, c.id, me!, 'viewer')
    await makeProject(ctx, other!, { name: `D ${tag} hidden` })
    const list = async (qs: string) => {
      const r = await ctx.req('GET', `${API}/projects?search=${tag}&${qs}`, { token: me!.token })
      expect(r.status).toBe(200)
      return r.body
    }
    expect((await list('')).items.map((p: any) => p.id)).toEqual([b.id, a.id, c.id])
    expect((await list('')).total).toBe(3)
    expect((await list('sort=-name')).items.map((p: any) => p.id)).toEqual([c.id, a.id, b.id])
    expect((await list('sort=created_at')).items.map((p: any) => p.id)).toEqual([a.id, b.id, c.id])
    expect((await list('sort=-updated_at')).items[0].id).toBe(c.id)
    expect((await list('status=archived')).items.map((p: any) => p.id)).toEqual([b.id])
    expect((await list('role=viewer')).items.map((p: any) => p.id)).toEqual([c.id])
    expect((await list('role=owner')).total).toBe(2)
    const pct = await ctx.req('GET', `${API}/projects?search=${encodeURIComponent('100%_')}`, {
      token: me!.token,
    })
    expect(pct.body.items.map((p: any) => p.id)).toEqual([c.id])
    const none = await ctx.req(
      'GET',
      `${API}/projects?search=${encodeURIComponent('%')}&role=viewer&search=zz`,
      { token: me!.token },
    )
    expect(none.status).toBe(200)
  })

  test('SQL metacharacters in search are literal; bad sort, status, role and paging are 422', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    await makeProject(ctx, me)
    for (const s of ["' or 1=1 --", '%', '_', '\\', "'; drop table projects; --"]) {
      const r = await ctx.req('GET', `${API}/projects?search=${encodeURIComponent(s)}`, { token: me.token })
      expect(r.status).toBe(200)
      expect(r.body.total).toBe(0)
    }
    for (const qs of [
      'sort=name;drop table projects',
      'sort=password_hash',
      'sort=name,name',
      'status=deleted',
      'role=admin',
      'page=0',
      'page_size=0',
      'page_size=101',
      'page=abc',
    ])
      expectProblem(
        await ctx.req('GET', `${API}/projects?${qs}`, { token: me.token }),
        422,
        'validation_failed',
      )
  })

  test('pagination: pages, and a page beyond the end is empty with the right total', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    for (let i = 0; i < 5; i++) await makeProject(ctx, me)
    const p1 = await ctx.req('GET', `${API}/projects?page_size=2`, { token: me.token })
    expect(p1.body).toMatchObject({ total: 5, page: 1, page_size: 2, pages: 3 })
    const p3 = await ctx.req('GET', `${API}/projects?page_size=2&page=3`, { token: me.token })
    expect(p3.body.items.length).toBe(1)
    const all = [
      ...p1.body.items,
      ...(await ctx.req('GET', `${API}/projects?page_size=2&page=2`, { token: me.token })).body.items,
      ...p3.body.items,
    ]
    expect(new Set(all.map((p: any) => p.id)).size).toBe(5)
    const beyond = await ctx.req('GET', `${API}/projects?page_size=2&page=9`, { token: me.token })
    expect(beyond.body).toMatchObject({ items: [], total: 5, page: 9, pages: 3 })
  })

  test('a list of 50 projects costs a bounded number of queries', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    await Promise.all(Array.from({ length: 50 }, () => makeProject(ctx, me)))
    const { result, count } = await countQueries(() =>
      ctx.req('GET', `${API}/projects?page_size=50`, { token: me.token }),
    )
    expect(result.body.items.length).toBe(50)
    expect(count).toBeLessThanOrEqual(3)
  })
})

describe('GET /projects/{id}/activity', () => {
  test('pages through events newest first with the envelope of API.md', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    const t = await makeTask(ctx, me, p.id)
    await ctx.req('PATCH', `${API}/tasks/${t.id}`, { token: me.token, body: { status: 'done' } })
    await ctx.req('DELETE', `${API}/tasks/${t.id}`, { token: me.token })
    const res = await ctx.req('GET', `${API}/projects/${p.id}/activity?page_size=2`, { token: me.token })
    expect(res.status).toBe(200)
    expect(res.body.total).toBe(3)
    expect(res.body.items.map((e: any) => e.type)).toEqual(['task.deleted', 'task.updated'])
    const ev = res.body.items[1]
    expect(Object.keys(ev).sort()).toEqual(['actor_id', 'data', 'id', 'occurred_at', 'project_id', 'type'])
    expect(ev).toMatchObject({ project_id: p.id, actor_id: me.id })
    expect(ev.data.changes.status).toEqual(['todo', 'done'])
    expect(ev.data.changes.completed_at[0]).toBeNull()
    expect(ev.data.status).toBe('done')
    const p2 = await ctx.req('GET', `${API}/projects/${p.id}/activity?page_size=2&page=2`, {
      token: me.token,
    })
    expect(p2.body.items.map((e: any) => e.type)).toEqual(['task.created'])
    const outsider = await createUser(ctx)
    expectProblem(await ctx.req('GET', `${API}/projects/${p.id}/activity`, { token: outsider.token }), 404)
  })
})
