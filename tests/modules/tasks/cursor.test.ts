import { beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { tasks } from '../../../src/db/schema'
import { cursorValues } from '../../../src/modules/tasks/cursor'
import { parseTaskSort } from '../../../src/modules/tasks/query'
import type { TestContext, TestUser } from '../../helpers/app'
import { expectProblem } from '../../helpers/app'
import { countQueries } from '../../helpers/db'
import { API, team, testApp } from '../../helpers/projects-fixtures'

let ctx: TestContext
let owner: TestUser
let viewer: TestUser
let outsider: TestUser
let pid: string
const N = 45

beforeAll(async () => {
  ctx = await testApp()
  const t = await team(ctx)
  owner = t.owner
  viewer = t.viewer
  outsider = t.outsider
  pid = t.project.id
  const priorities = ['low', 'medium', 'high', 'urgent']
  for (let i = 0; i < N; i++) {
    const res = await ctx.req('POST', `${API}/projects/${pid}/tasks`, {
      token: owner.token,
      // repeated titles and priorities: ties are broken by the id
      body: { title: `Task ${i % 7}`, priority: priorities[i % 4] },
    })
    expect(res.status).toBe(201)
  }
  // updated_at from now() in PostgreSQL: microseconds that a JavaScript Date would lose
  const page = await ctx.req('GET', `${API}/projects/${pid}/tasks?page_size=100`, { token: owner.token })
  for (const t of page.body.items.slice(0, 20))
    await ctx.req('PATCH', `${API}/tasks/${t.id}`, { token: owner.token, body: { description: 'touched' } })
})

const list = (query: string, token = viewer.token) =>
  ctx.req('GET', `${API}/projects/${pid}/tasks?${query}`, { token })

async function walk(sort: string, pageSize: number) {
  const ids: string[] = []
  const pages: number[] = []
  let res = await list(`sort=${sort}&page_size=${pageSize}`)
  for (;;) {
    expect(res.status).toBe(200)
    expect(res.body.total).toBe(N)
    ids.push(...res.body.items.map((t: { id: string }) => t.id))
    pages.push(res.body.page)
    if (!res.body.next_cursor) return { ids, pages }
    res = await list(`sort=${sort}&page_size=${pageSize}&cursor=${res.body.next_cursor}`)
  }
}

async function byOffset(sort: string) {
  const res = await list(`sort=${sort}&page_size=100`)
  return res.body.items.map((t: { id: string }) => t.id)
}

describe('GET /projects/{id}/tasks?cursor=', () => {
  for (const sort of [
    'number',
    '-number',
    'created_at',
    '-updated_at',
    'title',
    '-priority,number',
    'priority,-title',
  ])
    test(`walking by cursor (sort=${sort}) gives the offset order, every task once, page numbers in step`, async () => {
      const { ids, pages } = await walk(sort, 10)
      expect(ids).toEqual(await byOffset(sort))
      expect(new Set(ids).size).toBe(N)
      expect(pages).toEqual([1, 2, 3, 4, 5])
    })

  test('a cursor page is one statement after the access check: no offset, no count', async () => {
    const first = await list('page_size=5&status=todo')
    const { result, statements } = await countQueries(() =>
      list(`page_size=5&status=todo&cursor=${first.body.next_cursor}`),
    )
    expect(result.status).toBe(200)
    expect(result.body.page).toBe(2)
    expect(statements.filter((s) => /count\(|offset \$?[1-9]/i.test(s))).toEqual([])
  })

  test('rows added or removed before the cursor neither skip nor repeat the rest', async () => {
    const p1 = await list('page_size=10')
    const removed = p1.body.items[3].id
    expect((await ctx.req('DELETE', `${API}/tasks/${removed}`, { token: owner.token })).status).toBe(204)
    const added = await ctx.req('POST', `${API}/projects/${pid}/tasks`, {
      token: owner.token,
      body: { title: 'late' },
    })
    const rest: string[] = []
    let res = await list(`page_size=10&cursor=${p1.body.next_cursor}`)
    for (;;) {
      rest.push(...res.body.items.map((t: { id: string }) => t.id))
      if (!res.body.next_cursor) break
      res = await list(`page_size=10&cursor=${res.body.next_cursor}`)
    }
    const all = await byOffset('number')
    expect(rest).toEqual(all.slice(9))
    expect(rest.at(-1)).toBe(added.body.id)
    // put the project back as it was for the other tests
    await ctx.req('DELETE', `${API}/tasks/${added.body.id}`, { token: owner.token })
    await ctx.req('POST', `${API}/projects/${pid}/tasks`, { token: owner.token, body: { title: 'Task 3' } })
  })

  test('next_cursor is null on the last page and for a due-date order, which pages by number only', async () => {
    expect((await list('page_size=100')).body.next_cursor).toBeNull()
    const due = await list('page_size=5&sort=due_date')
    expect(due.body.items).toHaveLength(5)
    expect(due.body.next_cursor).toBeNull()
  })

  test('bad cursors are 422 naming `cursor`, never a 500; strangers 404, no token 401', async () => {
    const good = (await list('page_size=5')).body.next_cursor as string
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    const decoded = JSON.parse(Buffer.from(good, 'base64url').toString())
    const bad = [
      'not-a-cursor',
      enc('just a string'),
      enc({ p: 2, s: 'number', v: [1] }),
      enc({ ...decoded, s: 'title' }),
      enc({ ...decoded, p: 1 }),
      enc({ ...decoded, p: 1.5 }),
      enc({ ...decoded, v: ['1', decoded.v[1]] }),
      enc({ ...decoded, v: [2 ** 60, decoded.v[1]] }),
      enc({ ...decoded, v: [5, 'not-a-uuid'] }),
      enc({ p: 2, s: '-updated_at', v: ['2026-13-45T99:00:00Z', decoded.v[1]] }),
      enc({ p: 2, s: '-updated_at', v: ["2026-01-01T00:00:00Z'; drop table tasks; --", decoded.v[1]] }),
    ]
    for (const cursor of bad) {
      const sort =
        cursor.length > 40 && JSON.parse(Buffer.from(cursor, 'base64url').toString()).s === '-updated_at'
      const res = await list(`page_size=5&cursor=${cursor}${sort ? '&sort=-updated_at' : ''}`)
      expect(expectProblem(res, 422, 'validation_failed').errors?.[0]?.field).toBe('cursor')
    }
    expectProblem(await list(`page=2&cursor=${good}`), 422)
    expectProblem(await list(`sort=due_date&cursor=${good}`), 422)
    expectProblem(await list(`cursor=${'A'.repeat(3_000)}`), 422)
    expectProblem(await list('cursor=has%20space'), 422)
    expectProblem(await list(`cursor=${good}`, outsider.token), 404)
    expectProblem(await ctx.req('GET', `${API}/projects/${pid}/tasks?cursor=${good}`), 401)
  })

  test('cursor values: integers from the row; timestamps and titles as PostgreSQL prints them, or the row’s own once it is gone', async () => {
    const [row] = await ctx.db.select().from(tasks).where(eq(tasks.projectId, pid)).limit(1)
    expect(await cursorValues(ctx.db, parseTaskSort('-priority,number'), row!)).toEqual([
      row!.priorityRank,
      row!.number,
      row!.id,
    ])
    const [ts, title, id] = await cursorValues(ctx.db, parseTaskSort('updated_at,title'), row!)
    expect(new Date(ts as string).getTime()).toBe(row!.updatedAt.getTime())
    expect([title, id]).toEqual([row!.title.toLowerCase(), row!.id])
    const gone = { ...row!, id: '00000000-0000-4000-8000-000000000000' }
    expect(await cursorValues(ctx.db, parseTaskSort('-created_at,title'), gone)).toEqual([
      row!.createdAt.toISOString(),
      row!.title.toLowerCase(),
      gone.id,
    ])
  })
})
