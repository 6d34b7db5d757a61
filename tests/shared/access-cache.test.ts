import { beforeAll, describe, expect, test } from 'bun:test'
import { and, eq } from 'drizzle-orm'
import { projectMembers } from '../../src/db/schema'
import { GroupedCache } from '../../src/lib/grouped-cache'
import { createTestApp, createUser, expectProblem, type TestContext } from '../helpers/app'
import { countQueries } from '../helpers/db'
import { API, makeTask, team } from '../helpers/projects-fixtures'

/**
 * Issue 15: the embedded server keeps each caller's project access (the project row and their
 * role) in memory; a trigger NOTIFYs every change to a project or its members, which PGlite
 * delivers before the writing call returns. PostgreSQL mode does not cache: the same tests hold
 * there, and only the query counts differ.
 */
describe('GroupedCache', () => {
  test('a group invalidated drops its entries only; a fill that raced it is not stored; LRU bound; expiry', () => {
    type V = { g: string; n: number }
    const cache = new GroupedCache<V>(
      3,
      (v) => v.g,
      (v) => v.n < 0,
    )
    const v = (g: string, n: number): V => ({ g, n })
    cache.set('a', v('g1', 1), cache.mark())
    expect(cache.get('a')).toBeUndefined() // inactive: stores nothing
    cache.activate()
    cache.set('a', v('g1', 1), cache.mark())
    cache.set('b', v('g1', 2), cache.mark())
    cache.set('c', v('g2', 3), cache.mark())
    const mark = cache.mark()
    cache.invalidate('g1')
    expect([cache.get('a'), cache.get('b'), cache.get('c')?.n]).toEqual([undefined, undefined, 3])
    cache.set('a', v('g1', 1), mark)
    expect(cache.get('a')).toBeUndefined()
    for (const k of ['d', 'e']) cache.set(k, v('g3', 0), cache.mark())
    cache.get('c')
    cache.set('f', v('g3', 0), cache.mark())
    expect(cache.size).toBe(3)
    expect(cache.get('d')).toBeUndefined()
    expect(cache.get('c')?.n).toBe(3)
    cache.invalidate('g3')
    expect(cache.size).toBe(1)
    // an expired value is not served, and leaves
    cache.set('x', v('g4', -1), cache.mark())
    expect(cache.get('x')).toBeUndefined()
    expect(cache.size).toBe(1)
    expect(() => new GroupedCache(0, String)).toThrow(RangeError)
  })
})

describe('cached project access: every change takes effect on the next request', () => {
  let ctx: TestContext
  beforeAll(async () => {
    ctx = await createTestApp()
  })
  const list = (token: string, projectId: string) =>
    ctx.req('GET', `${API}/projects/${projectId}/tasks?page_size=5`, { token })
  const warm = async (token: string, projectId: string) => {
    expect((await list(token, projectId)).status).toBe(200)
    const { count, result } = await countQueries(() => list(token, projectId))
    expect(result.status).toBe(200)
    // embedded: only the page itself; PostgreSQL: the token, the access, the page
    expect(count).toBe(ctx.database.kind === 'pglite' ? 1 : 3)
    return result
  }

  test("a new task shows in the list's total at once", async () => {
    const { owner, project } = await team(ctx)
    expect((await warm(owner.token, project.id)).body.total).toBe(0)
    await makeTask(ctx, owner, project.id)
    expect((await list(owner.token, project.id)).body.total).toBe(1)
  })

  test('a role lowered, a member removed, and a membership row changed in the database directly', async () => {
    const { owner, editor, viewer, project } = await team(ctx)
    await warm(editor.token, project.id)
    const down = await ctx.req('PATCH', `${API}/projects/${project.id}/members/${editor.id}`, {
      token: owner.token,
      body: { role: 'viewer' },
    })
    expect(down.status).toBe(200)
    const create = await ctx.req('POST', `${API}/projects/${project.id}/tasks`, {
      token: editor.token,
      body: { title: 'no longer allowed' },
    })
    expectProblem(create, 403)
    await warm(viewer.token, project.id)
    expect(
      (await ctx.req('DELETE', `${API}/projects/${project.id}/members/${viewer.id}`, { token: owner.token }))
        .status,
    ).toBe(204)
    expectProblem(await list(viewer.token, project.id), 404)
    await warm(editor.token, project.id)
    await ctx.db
      .delete(projectMembers)
      .where(and(eq(projectMembers.projectId, project.id), eq(projectMembers.userId, editor.id)))
    expectProblem(await list(editor.token, project.id), 404)
  })

  test('a project renamed, deleted and restored', async () => {
    const { owner, editor, project } = await team(ctx)
    await warm(editor.token, project.id)
    const renamed = await ctx.req('PATCH', `${API}/projects/${project.id}`, {
      token: owner.token,
      body: { name: 'Renamed project' },
    })
    expect(renamed.status).toBe(200)
    expect((await ctx.req('GET', `${API}/projects/${project.id}`, { token: editor.token })).body.name).toBe(
      'Renamed project',
    )
    await warm(editor.token, project.id)
    expect((await ctx.req('DELETE', `${API}/projects/${project.id}`, { token: owner.token })).status).toBe(
      204,
    )
    expectProblem(await list(editor.token, project.id), 404)
    expect(
      (await ctx.req('POST', `${API}/projects/${project.id}/restore`, { token: owner.token })).status,
    ).toBe(200)
    expect((await list(editor.token, project.id)).status).toBe(200)
  })

  test('a task is a 404 for a stranger and once its project is deleted, also when the access was cached', async () => {
    const { owner, editor, project } = await team(ctx)
    const stranger = await createUser(ctx)
    const task = await makeTask(ctx, owner, project.id)
    const get = (token: string) => ctx.req('GET', `${API}/tasks/${task.id}`, { token })
    expectProblem(await get(stranger.token), 404, 'not_found')
    expect((await get(editor.token)).status).toBe(200)
    expect((await countQueries(() => get(editor.token))).count).toBe(ctx.database.kind === 'pglite' ? 1 : 2)
    expect((await ctx.req('DELETE', `${API}/projects/${project.id}`, { token: owner.token })).status).toBe(
      204,
    )
    const gone = await get(editor.token)
    expectProblem(gone, 404, 'not_found')
    expect(gone.body.detail).toContain('Task')
  })

  test('a refusal is not cached: a stranger is asked again each time, and sees the project once added', async () => {
    const { owner, project } = await team(ctx)
    const stranger = await createUser(ctx)
    expectProblem(await list(stranger.token, project.id), 404)
    const again = await countQueries(() => list(stranger.token, project.id))
    expectProblem(again.result, 404)
    expect(again.statements.some((q) => q.includes('"project_members"'))).toBe(true)
    const added = await ctx.req('POST', `${API}/projects/${project.id}/members`, {
      token: owner.token,
      body: { user_id: stranger.id, role: 'viewer' },
    })
    expect(added.status).toBe(201)
    expect((await list(stranger.token, project.id)).status).toBe(200)
  })
})
