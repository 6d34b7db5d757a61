import { beforeAll, expect, test } from 'bun:test'
import { eq, sql } from 'drizzle-orm'
import { projects, tasks } from '../../../src/db/schema'
import type { TestContext } from '../../helpers/app'
import { countQueries } from '../../helpers/db'
import { API, makeProject, team, testApp } from '../../helpers/projects-fixtures'

let ctx: TestContext
beforeAll(async () => {
  ctx = await testApp()
})

const STATUSES = ['todo', 'in_progress', 'done', 'canceled'] as const

/** The project's counters against the rows themselves. */
async function countersMatchRows(projectId: string) {
  const [p] = await ctx.db.select().from(projects).where(eq(projects.id, projectId))
  const rows = await ctx.db
    .select({ status: tasks.status, n: sql<number>`count(*)::int` })
    .from(tasks)
    .where(eq(tasks.projectId, projectId))
    .groupBy(tasks.status)
  const real = Object.fromEntries(STATUSES.map((s) => [s, rows.find((r) => r.status === s)?.n ?? 0]))
  expect({
    todo: p!.todoCount,
    in_progress: p!.inProgressCount,
    done: p!.doneCount,
    canceled: p!.canceledCount,
    all: p!.taskCount,
  }).toEqual({ ...real, all: rows.reduce((s, r) => s + r.n, 0) } as never)
  return real
}

test('list totals come from counters the writes keep exact: creates, status changes (also concurrent) and deletes', async () => {
  const { owner, editor, project } = await team(ctx)
  const ids: string[] = []
  for (const [i, status] of ['todo', 'todo', 'in_progress', 'done', 'canceled', 'todo', 'done'].entries()) {
    const res = await ctx.req('POST', `${API}/projects/${project.id}/tasks`, {
      token: i % 2 ? editor.token : owner.token,
      body: { title: `t${i}`, status },
    })
    expect(res.status).toBe(201)
    ids.push(res.body.id)
  }
  await countersMatchRows(project.id)
  // concurrent status changes of different tasks, a repeated change and a change to the same status
  const patch = (id: string, status: string) =>
    ctx.req('PATCH', `${API}/tasks/${id}`, { token: owner.token, body: { status } })
  await Promise.all([
    patch(ids[0]!, 'done'),
    patch(ids[1]!, 'in_progress'),
    patch(ids[2]!, 'canceled'),
    patch(ids[3]!, 'done'),
    patch(ids[4]!, 'todo'),
  ])
  // the same task from two clients at once: one wins, the other is refused or a no-op
  await Promise.all([patch(ids[5]!, 'done'), patch(ids[5]!, 'canceled')])
  await countersMatchRows(project.id)
  expect((await ctx.req('DELETE', `${API}/tasks/${ids[6]}`, { token: owner.token })).status).toBe(204)
  expect((await ctx.req('DELETE', `${API}/tasks/${ids[0]}`, { token: owner.token })).status).toBe(204)
  const real = await countersMatchRows(project.id)

  for (const filter of ['', 'todo', 'in_progress', 'done', 'canceled', 'todo,done', 'done,canceled,todo']) {
    const url = `${API}/projects/${project.id}/tasks?page_size=2${filter ? `&status=${filter}` : ''}`
    const { result, statements } = await countQueries(() => ctx.req('GET', url, { token: editor.token }))
    const want = filter ? filter.split(',').reduce((s, f) => s + real[f]!, 0) : ids.length - 2
    expect(result.status).toBe(200)
    expect(result.body.total).toBe(want)
    expect(result.body.pages).toBe(Math.ceil(want / 2))
    // the total is read with the project, never counted over the rows
    expect(statements.filter((s) => /count\(/i.test(s))).toEqual([])
  }
  // any other filter still counts the matching rows
  const { result, statements } = await countQueries(() =>
    ctx.req('GET', `${API}/projects/${project.id}/tasks?status=todo&priority=medium`, {
      token: editor.token,
    }),
  )
  expect(result.body.total).toBe(real.todo)
  expect(statements.some((s) => /count\(/i.test(s))).toBe(true)
})

test('a new project starts at zero; an empty status filter total is 0', async () => {
  const { owner } = await team(ctx)
  const p = await makeProject(ctx, owner)
  await countersMatchRows(p.id)
  const res = await ctx.req('GET', `${API}/projects/${p.id}/tasks?status=canceled`, { token: owner.token })
  expect(res.body).toMatchObject({ items: [], total: 0, pages: 0 })
})
