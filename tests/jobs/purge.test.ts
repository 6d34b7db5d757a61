import { beforeAll, describe, expect, test } from 'bun:test'
import { and, eq, inArray, sql } from 'drizzle-orm'
import { comments, events, jobs, projects, tasks } from '../../src/db/schema'
import { jobDefinitions, PURGE_JOB, parseTypeConcurrency, purgeJob } from '../../src/jobs/definitions'
import { purgeFinishedJobs } from '../../src/jobs/purge'
import { JobRunner } from '../../src/jobs/runner'
import { memoryLogger } from '../../src/lib/logger'
import { purgeTrash } from '../../src/modules/projects/purge'
import { createUser, type TestContext, unique } from '../helpers/app'
import { countQueries } from '../helpers/db'
import { makeProject, makeTask, testApp } from '../helpers/projects-fixtures'

let ctx: TestContext
beforeAll(async () => {
  ctx = await testApp()
})

const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000)

describe('purging the trash', () => {
  test('projects past 30 days go with their tasks, comments and events, in batches; younger ones stay', async () => {
    const owner = await createUser(ctx)
    const old = await makeProject(ctx, owner)
    const young = await makeProject(ctx, owner)
    const t = await makeTask(ctx, owner, old.id)
    for (let i = 0; i < 4; i++) await makeTask(ctx, owner, old.id)
    const c = await ctx.req('POST', `/api/v1/tasks/${t.id}/comments`, {
      token: owner.token,
      body: { body: 'hi' },
    })
    expect(c.status).toBe(201)
    await makeTask(ctx, owner, young.id)
    await ctx.db
      .update(projects)
      .set({ deletedAt: daysAgo(31) })
      .where(eq(projects.id, old.id))
    await ctx.db
      .update(projects)
      .set({ deletedAt: daysAgo(29) })
      .where(eq(projects.id, young.id))
    const { result, statements } = await countQueries(() => purgeTrash(ctx.db, { batch: 2 }))
    expect(result.projects).toBeGreaterThanOrEqual(1)
    expect(result.tasks).toBeGreaterThanOrEqual(5)
    // batches of 2: at least three task deletes for five tasks, each a short statement
    expect(statements.filter((s) => s.startsWith('delete from "tasks"')).length).toBeGreaterThanOrEqual(3)
    const left = await ctx.db
      .select({ id: projects.id })
      .from(projects)
      .where(inArray(projects.id, [old.id, young.id]))
    expect(left.map((p) => p.id)).toEqual([young.id])
    expect(await ctx.db.select().from(tasks).where(eq(tasks.projectId, old.id))).toHaveLength(0)
    expect(await ctx.db.select().from(events).where(eq(events.projectId, old.id))).toHaveLength(0)
    expect(await ctx.db.select().from(comments).where(eq(comments.taskId, t.id))).toHaveLength(0)
    expect(await ctx.db.select().from(tasks).where(eq(tasks.projectId, young.id))).toHaveLength(1)
  })
})

describe('purging finished jobs', () => {
  test('succeeded after 7 days, failed after 30; queued and recent ones stay', async () => {
    const type = unique('old-jobs')
    const rows = await ctx.db
      .insert(jobs)
      .values([
        { type, status: 'succeeded', finishedAt: daysAgo(8) },
        { type, status: 'succeeded', finishedAt: daysAgo(1) },
        { type, status: 'failed', finishedAt: daysAgo(20) },
        { type, status: 'failed', finishedAt: daysAgo(31) },
        { type, status: 'queued', runAt: daysAgo(40) },
      ])
      .returning()
    await purgeFinishedJobs(ctx.db, 1)
    const left = await ctx.db.select().from(jobs).where(eq(jobs.type, type))
    expect(left.map((j) => j.id).sort()).toEqual([rows[1]!.id, rows[2]!.id, rows[4]!.id].sort())
  })
})

describe('the purge job', () => {
  test('runs every purge and reports the counts', async () => {
    const result = (await purgeJob(ctx.database).handle({}, {} as never)) as Record<string, number>
    expect(Object.keys(result).sort()).toEqual(
      [
        'finishedJobs',
        'idempotencyKeys',
        'oneTimeTokens',
        'sessions',
        'trashedProjects',
        'trashedTasks',
        'webhookDeliveries',
      ].sort(),
    )
  })

  test('two instances with the same schedule enqueue one purge job per period', async () => {
    const every = 3_600_000 * 24 * 365 * 50 // one period for the whole test run
    const make = () =>
      new JobRunner({
        database: ctx.database,
        logger: memoryLogger('error').logger,
        definitions: [],
        concurrency: 1,
        schedules: [{ type: `${PURGE_JOB}-test`, everyMs: every }],
      })
    const a = make()
    const b = make()
    await Promise.all([a.start(), b.start()])
    await Bun.sleep(50)
    await Promise.all([a.stop(), b.stop()])
    const queued = await ctx.db
      .select()
      .from(jobs)
      .where(and(eq(jobs.type, `${PURGE_JOB}-test`), sql`${jobs.dedupeKey} is not null`))
    expect(queued).toHaveLength(1)
  })

  test('the process knows mail, report, purge, webhook and attachment jobs', () => {
    const defs = jobDefinitions({
      database: ctx.database,
      settings: ctx.settings,
      logger: ctx.deps.logger,
      mailer: { transport: 'none', send: async () => {} },
    })
    expect(defs.map((d) => d.type).sort()).toEqual([
      'attachment-delete',
      'attachment-sweep',
      'mail',
      'purge',
      'report',
      'webhook',
    ])
  })

  test('JOBS_TYPE_CONCURRENCY overrides the per-type limits; an unknown type is warned about', () => {
    const log = memoryLogger('warn')
    const defs = jobDefinitions({
      database: ctx.database,
      settings: { ...ctx.settings, JOBS_TYPE_CONCURRENCY: ' mail = 6 ,report=3,nope=2' },
      logger: log.logger,
      mailer: { transport: 'none', send: async () => {} },
    })
    const limit = (t: string) => defs.find((d) => d.type === t)!.concurrency
    expect([limit('mail'), limit('report'), limit('purge')]).toEqual([6, 3, 1])
    expect(log.entries()).toMatchObject([{ types: ['nope'] }])
    expect(parseTypeConcurrency('')).toEqual(new Map())
  })
})
