import { describe, expect, test } from 'bun:test'
import { asc, eq } from 'drizzle-orm'
import postgres from 'postgres'
import { events, projects, tasks } from '../../../src/db/schema'
import type { AppError } from '../../../src/lib/errors'
import { pgErrorCode } from '../../../src/lib/pg-errors'
import { MAX_CREATE_BATCH, retriedOneByOne } from '../../../src/modules/tasks/create-batch'
import type { TaskCreate } from '../../../src/modules/tasks/model'
import { createTask } from '../../../src/modules/tasks/service'
import { countQueries, usingPostgres } from '../../helpers/db'
import { team, testApp } from '../../helpers/projects-fixtures'

const title = (i: number): TaskCreate => ({ title: `t${i}` })

async function projectRow(ctx: Awaited<ReturnType<typeof testApp>>, id: string) {
  const [row] = await ctx.db.select().from(projects).where(eq(projects.id, id))
  return row!
}

describe('task creates in one project share statements (group commit)', () => {
  test('20 creates made in one turn of the event loop share one statement; numbers 1..20 in event order', async () => {
    const ctx = await testApp()
    const { project, editor } = await team(ctx)
    const { count, result } = await countQueries(() =>
      Promise.all(Array.from({ length: 20 }, (_, i) => createTask(ctx.db, editor.id, project.id, title(i)))),
    )
    expect(count).toBe(1)
    // each create gets its own number, in the order the creates arrived
    expect(result.map((t) => t.number)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    const rows = await ctx.db
      .select({ number: tasks.number, title: tasks.title })
      .from(tasks)
      .where(eq(tasks.projectId, project.id))
      .orderBy(asc(tasks.number))
    expect(rows).toEqual(result.map((t) => ({ number: t.number, title: t.title })))
    // events in seq order carry the numbers in order (realtime replays them so)
    const evs = await ctx.db
      .select({ data: events.data })
      .from(events)
      .where(eq(events.projectId, project.id))
      .orderBy(asc(events.seq))
    const created = evs.map((e) => (e.data as { number?: number }).number).filter((n) => n !== undefined)
    expect(created).toEqual(result.map((t) => t.number))
    const p = await projectRow(ctx, project.id)
    expect([p.taskSeq, p.taskCount, p.todoCount]).toEqual([20, 20, 20])
  })

  test('a batch never exceeds MAX_CREATE_BATCH creates', async () => {
    const ctx = await testApp()
    const { project, editor } = await team(ctx)
    const n = MAX_CREATE_BATCH + 2
    const { count, result } = await countQueries(() =>
      Promise.all(Array.from({ length: n }, (_, i) => createTask(ctx.db, editor.id, project.id, title(i)))),
    )
    expect(count).toBe(2) // MAX_CREATE_BATCH, then 2
    expect(new Set(result.map((t) => t.number)).size).toBe(n)
    expect((await projectRow(ctx, project.id)).taskCount).toBe(n)
  })

  test('each create is checked on its own: a viewer and an outsider in the batch are refused, the others land without a gap', async () => {
    const ctx = await testApp()
    const { project, owner, editor, viewer, outsider } = await team(ctx)
    const who = [editor, editor, viewer, owner, outsider, editor]
    const res = await Promise.allSettled(
      who.map((u, i) =>
        createTask(ctx.db, u.id, project.id, { ...title(i), status: i === 3 ? 'done' : undefined }),
      ),
    )
    const status = res.map((r) => (r.status === 'fulfilled' ? 201 : (r.reason as AppError).status))
    expect(status).toEqual([201, 201, 403, 201, 404, 201])
    const numbers = res.flatMap((r) => (r.status === 'fulfilled' ? [r.value.number] : []))
    expect(numbers).toEqual([1, 2, 3, 4])
    const p = await projectRow(ctx, project.id)
    expect([p.taskSeq, p.taskCount, p.todoCount, p.doneCount]).toEqual([4, 4, 3, 1])
  })

  test('a data error fails only its own create: the batch is retried one create at a time', async () => {
    const ctx = await testApp()
    const { project, editor } = await team(ctx)
    const bad = { title: 'bad', status: 'bogus' } as unknown as TaskCreate // past the schema, into the check constraint
    const res = await Promise.allSettled([
      createTask(ctx.db, editor.id, project.id, title(0)),
      createTask(ctx.db, editor.id, project.id, title(1)),
      createTask(ctx.db, editor.id, project.id, bad),
      createTask(ctx.db, editor.id, project.id, title(3)),
    ])
    expect(res.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    expect(pgErrorCode((res[2] as PromiseRejectedResult).reason)).toBe('23514')
    expect(res.flatMap((r) => (r.status === 'fulfilled' ? [r.value.number] : []))).toEqual([1, 2, 3])
    const p = await projectRow(ctx, project.id)
    expect([p.taskSeq, p.taskCount]).toEqual([3, 3])
  })

  test('creates into a deleted project are all refused with 404, and change nothing', async () => {
    const ctx = await testApp()
    const { project, editor } = await team(ctx)
    await ctx.db.update(projects).set({ deletedAt: new Date() }).where(eq(projects.id, project.id))
    const res = await Promise.allSettled(
      [0, 1, 2].map((i) => createTask(ctx.db, editor.id, project.id, title(i))),
    )
    for (const r of res) expect(((r as PromiseRejectedResult).reason as AppError).status).toBe(404)
    expect((await projectRow(ctx, project.id)).taskSeq).toBe(0)
  })

  test('in a transaction a create runs alone, and a failing one reports its own error', async () => {
    const ctx = await testApp()
    const { project, editor } = await team(ctx)
    const made = await ctx.db.transaction((tx) => createTask(tx, editor.id, project.id, title(0)))
    expect(made.number).toBe(1)
    const bad = { title: 'bad', status: 'bogus' } as unknown as TaskCreate
    const err = await ctx.db.transaction((tx) => createTask(tx, editor.id, project.id, bad)).catch((e) => e)
    expect(pgErrorCode(err)).toBe('23514')
    expect((await projectRow(ctx, project.id)).taskSeq).toBe(1)
  })

  test('which failures are retried one create at a time: data, integrity and rollbacks, never a lost connection or a timeout', () => {
    const pg = (code: string) => Object.assign(new Error('x'), { cause: { code } })
    for (const code of ['22P02', '23503', '23514', '40P01', '40001'])
      expect(retriedOneByOne(pg(code))).toBe(true)
    for (const code of ['57014', '08006', '53300', '25P02']) expect(retriedOneByOne(pg(code))).toBe(false)
    expect(retriedOneByOne(new Error('read ECONNRESET'))).toBe(false)
  })
})

describe.skipIf(!usingPostgres())('creates in one statement, on PostgreSQL', () => {
  test("a deadlock over one creator's user row fails no other create of the batch", async () => {
    const ctx = await testApp()
    const { project, editor, owner } = await team(ctx)
    const other = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} })
    let creates: Promise<PromiseSettledResult<{ number: number }>[]> | undefined
    // another transaction holds the owner's user row (as deleting a user does), then wants the
    // project's row, which the batch holds while its foreign-key check waits for the user's row
    const tx = other
      .begin(async (sql) => {
        await sql`select id from users where id = ${owner.id} for update`
        creates = Promise.allSettled([
          createTask(ctx.db, editor.id, project.id, { title: 'editor' }),
          createTask(ctx.db, owner.id, project.id, { title: 'owner' }),
        ])
        await Bun.sleep(300)
        await sql`select id from projects where id = ${project.id} for update`
      })
      .catch((e) => e)
    await tx
    const res = (await creates) ?? []
    await other.end()
    // whichever side PostgreSQL chose to abort, both creates land: the batch retries them alone
    expect(res.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled'])
    expect((await projectRow(ctx, project.id)).taskSeq).toBe(2)
  }, 20_000)
})
