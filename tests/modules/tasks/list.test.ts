import { beforeAll, describe, expect, test } from 'bun:test'
import { preparedJsonPage, preparedPage } from '../../../src/modules/tasks/list'
import { parseTaskSort } from '../../../src/modules/tasks/query'
import { createUser, expectProblem, type TestContext, type TestUser } from '../../helpers/app'
import { countQueries } from '../../helpers/db'
import { API, addMember, makeProject, makeTask, testApp } from '../../helpers/projects-fixtures'

let ctx: TestContext
let owner: TestUser
let mate: TestUser
let pid: string
const ids: Record<string, string> = {}
const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)

beforeAll(async () => {
  ctx = await testApp()
  owner = await createUser(ctx)
  mate = await createUser(ctx)
  const p = await makeProject(ctx, owner)
  pid = p.id
  await addMember(ctx, owner, pid, mate)
  const specs: [string, Record<string, unknown>][] = [
    [
      'a',
      {
        title: 'Alpha release',
        status: 'todo',
        priority: 'low',
        labels: ['web'],
        due_date: '2030-01-10',
        assignee_id: owner.id,
      },
    ],
    [
      'b',
      {
        title: 'beta 100% done_ok',
        status: 'in_progress',
        priority: 'urgent',
        labels: ['api', 'web'],
        due_date: '2030-01-05',
      },
    ],
    [
      'c',
      {
        title: 'Gamma',
        description: 'contains alpha inside',
        status: 'done',
        priority: 'high',
        assignee_id: mate.id,
      },
    ],
    [
      'd',
      {
        title: 'delta overdue',
        status: 'todo',
        priority: 'medium',
        due_date: yesterday,
        assignee_id: mate.id,
      },
    ],
    ['e', { title: 'epsilon', status: 'canceled', priority: 'medium', due_date: yesterday }],
  ]
  for (const [k, body] of specs) ids[k] = (await makeTask(ctx, owner, pid, body)).id
})

const list = async (qs: string, token = owner.token) => {
  const r = await ctx.req('GET', `${API}/projects/${pid}/tasks?${qs}`, { token })
  if (r.status !== 200) throw new Error(`${qs}: ${r.status} ${r.text}`)
  return r.body
}
const keys = (body: any) =>
  body.items.map((t: any) => Object.entries(ids).find(([, id]) => id === t.id)?.[0]).join('')

describe('GET /projects/{id}/tasks filters', () => {
  test('default sort is number; filters combine', async () => {
    expect(keys(await list(''))).toBe('abcde')
    expect(keys(await list('status=todo,in_progress'))).toBe('abd')
    expect(keys(await list('priority=medium'))).toBe('de')
    expect(keys(await list('priority=low,urgent'))).toBe('ab')
    expect(keys(await list('assignee_id=me'))).toBe('a')
    expect(keys(await list('assignee_id=me', mate.token))).toBe('cd')
    expect(keys(await list(`assignee_id=${mate.id}`))).toBe('cd')
    expect(keys(await list('assignee_id=none'))).toBe('be')
    expect(keys(await list('label=web'))).toBe('ab')
    expect(keys(await list('label=api'))).toBe('b')
    expect(keys(await list('due_before=2030-01-10'))).toBe('bde')
    expect(keys(await list('due_after=2030-01-05'))).toBe('a')
    expect(keys(await list('overdue=true'))).toBe('d')
    expect(keys(await list('overdue=false'))).toBe('abce')
    expect(keys(await list('search=ALPHA'))).toBe('ac')
    expect(keys(await list(`search=${encodeURIComponent('100%')}`))).toBe('b')
    expect(keys(await list(`search=${encodeURIComponent('%')}`))).toBe('b')
    expect(keys(await list(`search=${encodeURIComponent('_')}`))).toBe('b')
    expect(keys(await list(`search=${encodeURIComponent("' or ''='")}`))).toBe('')
    expect(keys(await list('status=todo&assignee_id=me'))).toBe('a')
  })

  test('sorts by every allowed field with an id tiebreaker', async () => {
    expect(keys(await list('sort=-number'))).toBe('edcba')
    expect(keys(await list('sort=priority,number'))).toBe('adecb')
    expect(keys(await list('sort=-priority'))).toBe('bceda')
    expect(keys(await list('sort=due_date'))).toBe('debac')
    expect(keys(await list('sort=-due_date'))).toBe('abedc')
    expect(keys(await list('sort=title'))).toBe('abdec')
    expect(keys(await list('sort=-title'))).toBe('cedba')
    expect(keys(await list('sort=created_at'))).toBe('abcde')
    expect(keys(await list('sort=-updated_at,-number'))).toBe('edcba')
  })

  test('invalid filters, sorts and paging are 422 (never 500)', async () => {
    for (const qs of [
      'status=open',
      'status=,',
      'priority=critical',
      'assignee_id=someone',
      'due_before=2026-02-30',
      'due_after=yesterday',
      'overdue=yes',
      'sort=number;drop table tasks',
      'sort=assignee_id',
      "sort=title'",
      'page=0',
      'page_size=0',
      'page_size=101',
    ])
      expectProblem(await ctx.req('GET', `${API}/projects/${pid}/tasks?${qs}`, { token: owner.token }), 422)
  })

  test('pagination edges', async () => {
    const p = await list('page_size=2&page=3')
    expect(p).toMatchObject({ total: 5, page: 3, page_size: 2, pages: 3 })
    expect(keys(p)).toBe('e')
    const beyond = await list('page_size=2&page=4')
    expect(beyond).toMatchObject({ items: [], total: 5, pages: 3 })
  })

  test('non-members get 404, no token 401', async () => {
    const outsider = await createUser(ctx)
    expectProblem(await ctx.req('GET', `${API}/projects/${pid}/tasks`, { token: outsider.token }), 404)
    expectProblem(await ctx.req('GET', `${API}/projects/${pid}/tasks`), 401)
  })

  test('a page of 50 tasks costs at most 4 queries including auth', async () => {
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    await Promise.all(
      Array.from({ length: 55 }, (_, i) => makeTask(ctx, me, p.id, { title: `bulk ${i}`, labels: ['x'] })),
    )
    const { result, count } = await countQueries(() =>
      ctx.req('GET', `${API}/projects/${p.id}/tasks?page_size=50&label=x&sort=-priority`, {
        token: me.token,
      }),
    )
    expect(result.body.items.length).toBe(50)
    expect(result.body.total).toBe(55)
    expect(count).toBeLessThanOrEqual(4)
  })
})

describe('GET /users/me/tasks', () => {
  test('tasks assigned to me across my live projects, with filters', async () => {
    const me = await createUser(ctx)
    const p1 = await makeProject(ctx, me)
    const p2 = await makeProject(ctx, me)
    const t1 = await makeTask(ctx, me, p1.id, { assignee_id: me.id, priority: 'high' })
    const t2 = await makeTask(ctx, me, p2.id, { assignee_id: me.id, status: 'done' })
    await makeTask(ctx, me, p2.id)
    const r = await ctx.req('GET', `${API}/users/me/tasks?sort=-priority`, { token: me.token })
    expect(r.status).toBe(200)
    expect(r.body.items.map((t: any) => t.id).sort()).toEqual([t1.id, t2.id].sort())
    const open = await ctx.req('GET', `${API}/users/me/tasks?status=todo`, { token: me.token })
    expect(open.body.items.map((t: any) => t.id)).toEqual([t1.id])
    await ctx.req('DELETE', `${API}/projects/${p1.id}`, { token: me.token })
    const after = await ctx.req('GET', `${API}/users/me/tasks`, { token: me.token })
    expect(after.body.items.map((t: any) => t.id)).toEqual([t2.id])
    expectProblem(await ctx.req('GET', `${API}/users/me/tasks?sort=bogus`, { token: me.token }), 422)
    const { count } = await countQueries(() =>
      ctx.req('GET', `${API}/users/me/tasks?page_size=50`, { token: me.token }),
    )
    expect(count).toBeLessThanOrEqual(3)
  })
})

describe('the page as JSON rows', () => {
  test('every field of a listed task equals the task read alone, on the prepared and the general path', async () => {
    const p = await makeProject(ctx, owner)
    await makeTask(ctx, owner, p.id, {
      title: 'Ünïcode "quoted" \\ back',
      description: 'line 1\nline 2\ttab',
      status: 'done',
      priority: 'urgent',
      labels: ['a b', 'ç', '{x}'],
      due_date: '2031-02-28',
      assignee_id: owner.id,
    })
    await makeTask(ctx, owner, p.id, { title: 'plain' })
    for (const query of ['page_size=10', 'page_size=10&label=a%20b', 'page_size=10&sort=-priority']) {
      const page = await ctx.req('GET', `${API}/projects/${p.id}/tasks?${query}`, { token: owner.token })
      expect(page.status).toBe(200)
      for (const item of page.body.items) {
        const alone = await ctx.req('GET', `${API}/tasks/${item.id}`, { token: owner.token })
        expect(item).toEqual(alone.body)
      }
    }
    const done = (await ctx.req('GET', `${API}/projects/${p.id}/tasks?status=done`, { token: owner.token }))
      .body.items[0]
    expect(done.completed_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(done.labels).toEqual(['a b', 'ç', '{x}'])
  })
})

test('the JSON page (the embedded path) and the column page (PostgreSQL) give the same rows, on either database', async () => {
  const p = await makeProject(ctx, owner)
  await makeTask(ctx, owner, p.id, {
    title: 'one',
    labels: ['x', 'y z'],
    due_date: '2030-05-01',
    status: 'done',
  })
  await makeTask(ctx, owner, p.id, { title: 'two', description: 'a\nb' })
  const sort = parseTaskSort('-number')
  const page = { page: 1, pageSize: 5, offset: 0 }
  const [columns, json] = await Promise.all([
    preparedPage(ctx.db, p.id, sort, page),
    preparedJsonPage(ctx.db, p.id, sort, page),
  ])
  expect(columns.map((t) => t.title)).toEqual(['two', 'one'])
  expect(json).toEqual(columns)
})
