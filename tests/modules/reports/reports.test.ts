import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { jobs, projects, tasks } from '../../../src/db/schema'
import { getJob } from '../../../src/jobs/queue'
import { JobRunner, PermanentJobError } from '../../../src/jobs/runner'
import { memoryLogger } from '../../../src/lib/logger'
import { buildReport, REPORT_JOB, reportJob } from '../../../src/modules/reports/service'
import { createUser, expectProblem, type TestContext } from '../../helpers/app'
import { countQueries } from '../../helpers/db'
import { API, makeProject, makeTask, team, testApp } from '../../helpers/projects-fixtures'

let ctx: TestContext
let runner: JobRunner
beforeAll(async () => {
  ctx = await testApp()
  runner = new JobRunner({
    database: ctx.database,
    logger: memoryLogger('error').logger,
    definitions: [reportJob(ctx.db)],
    concurrency: 2,
    pollIntervalMs: 100,
  })
})
afterAll(() => runner.stop())

async function finished(id: string) {
  for (let i = 0; i < 300; i++) {
    const j = await getJob(ctx.db, id)
    if (j && (j.status === 'succeeded' || j.status === 'failed')) return j
    await Bun.sleep(10)
  }
  throw new Error(`job ${id} did not finish`)
}

describe('POST /projects/{id}/reports', () => {
  test('a member gets 202 with Location; strangers 404; no token 401; asking again while queued gives the same job', async () => {
    const { project, viewer, outsider } = await team(ctx)
    const url = `${API}/projects/${project.id}/reports`
    const res = await ctx.req('POST', url, { token: viewer.token })
    expect(res.status).toBe(202)
    expect(res.body).toEqual({ job_id: res.body.job_id, status: 'queued' })
    expect(res.headers.get('location')).toBe(`/api/v1/jobs/${res.body.job_id}`)
    const again = await ctx.req('POST', url, { token: viewer.token })
    expect(again.body.job_id).toBe(res.body.job_id)
    expectProblem(await ctx.req('POST', url, { token: outsider.token }), 404, 'not_found')
    expectProblem(await ctx.req('POST', url), 401)
    expectProblem(await ctx.req('POST', `${API}/projects/not-a-uuid/reports`, { token: viewer.token }), 404)
  })

  test('the job runs and its requester alone reads the result at GET /jobs/{id}', async () => {
    const { project, owner, editor } = await team(ctx)
    await makeTask(ctx, owner, project.id, { status: 'done', priority: 'high' })
    await makeTask(ctx, owner, project.id, { assignee_id: editor.id, due_date: '2020-01-01' })
    await makeTask(ctx, owner, project.id, { status: 'in_progress', priority: 'urgent' })
    const res = await ctx.req('POST', `${API}/projects/${project.id}/reports`, { token: editor.token })
    await runner.start()
    await finished(res.body.job_id)
    const view = await ctx.req('GET', res.headers.get('location')!, { token: editor.token })
    expect(view.status).toBe(200)
    expect(view.body).toMatchObject({
      id: res.body.job_id,
      type: 'report',
      status: 'succeeded',
      error: null,
      attempts: 1,
    })
    expect(view.body.finished_at).toMatch(/Z$/)
    const r = view.body.result
    expect(r.project_id).toBe(project.id)
    expect(r.tasks_total).toBe(3)
    expect(r.by_status).toEqual({ todo: 1, in_progress: 1, done: 1, canceled: 0 })
    expect(r.by_priority).toEqual({ low: 0, medium: 1, high: 1, urgent: 1 })
    expect(r.overdue.count).toBe(1)
    expect(r.overdue.tasks[0]).toMatchObject({ due_date: '2020-01-01', assignee_id: editor.id })
    expect(r.by_assignee).toContainEqual({ assignee_id: editor.id, username: editor.username, count: 1 })
    expect(r.completed_per_week).toHaveLength(12)
    expect(r.completed_per_week.at(-1).count).toBe(1)
    // someone else, even the owner, gets 404; so does an unknown or malformed id
    expectProblem(await ctx.req('GET', `${API}/jobs/${res.body.job_id}`, { token: owner.token }), 404)
    expectProblem(await ctx.req('GET', `${API}/jobs/${Bun.randomUUIDv7()}`, { token: editor.token }), 404)
    expectProblem(await ctx.req('GET', `${API}/jobs/nope`, { token: editor.token }), 404)
    expectProblem(await ctx.req('GET', `${API}/jobs/${res.body.job_id}`), 401)
  })
})

describe('buildReport', () => {
  test('weeks are Monday-based in UTC and count tasks completed in them; a bounded number of queries', async () => {
    const owner = await createUser(ctx)
    const p = await makeProject(ctx, owner)
    const now = new Date('2026-12-02T12:00:00Z') // a Wednesday
    const done = async (at: string) => {
      const t = await makeTask(ctx, owner, p.id, { status: 'done' })
      await ctx.db
        .update(tasks)
        .set({ completedAt: new Date(at) })
        .where(eq(tasks.id, t.id))
    }
    await done('2026-11-30T00:00:01Z') // this week's Monday
    await done('2026-11-29T23:59:59Z') // the Sunday before: last week
    await done('2026-09-14T10:00:00Z') // 11 weeks back: the first week shown
    await done('2026-09-13T10:00:00Z') // 12 weeks back: not shown
    const { result, count } = await countQueries(() => buildReport(ctx.db, p.id, now))
    expect(count).toBeLessThanOrEqual(7)
    expect(result.completed_per_week[0]).toEqual({ week_start: '2026-09-14', count: 1 })
    expect(result.completed_per_week.at(-2)).toEqual({ week_start: '2026-11-23', count: 1 })
    expect(result.completed_per_week.at(-1)).toEqual({ week_start: '2026-11-30', count: 1 })
    expect(result.tasks_total).toBe(4)
  })

  test('a deleted project fails the job at once, without retries', async () => {
    const owner = await createUser(ctx)
    const p = await makeProject(ctx, owner)
    await ctx.db.update(projects).set({ deletedAt: new Date() }).where(eq(projects.id, p.id))
    await expect(buildReport(ctx.db, p.id)).rejects.toBeInstanceOf(PermanentJobError)
    const [job] = await ctx.db
      .insert(jobs)
      .values({ type: REPORT_JOB, payload: { project_id: p.id }, requestedBy: owner.id, maxAttempts: 3 })
      .returning()
    await runner.start()
    runner.wake()
    const failed = await finished(job!.id)
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, lastError: 'The project no longer exists' })
  })
})

describe('admin job endpoints', () => {
  test('stats and retry are admin-only; only a failed job can be retried', async () => {
    const admin = await createUser(ctx, { role: 'admin' })
    const user = await createUser(ctx)
    const stats = await ctx.req('GET', `${API}/admin/jobs`, { token: admin.token })
    expect(stats.status).toBe(200)
    expect(typeof stats.body.types).toBe('object')
    expectProblem(await ctx.req('GET', `${API}/admin/jobs`, { token: user.token }), 403, 'forbidden')
    expectProblem(await ctx.req('GET', `${API}/admin/jobs`), 401)
    const [failed] = await ctx.db
      .insert(jobs)
      .values({
        type: 'noop-admin-test',
        status: 'failed',
        attempts: 5,
        lastError: 'x',
        finishedAt: new Date(),
      })
      .returning()
    expectProblem(await ctx.req('POST', `${API}/admin/jobs/${failed!.id}/retry`, { token: user.token }), 403)
    const retried = await ctx.req('POST', `${API}/admin/jobs/${failed!.id}/retry`, { token: admin.token })
    expect(retried.status).toBe(200)
    expect(retried.body).toMatchObject({ status: 'queued', attempts: 0, error: null })
    expectProblem(
      await ctx.req('POST', `${API}/admin/jobs/${failed!.id}/retry`, { token: admin.token }),
      409,
      'conflict',
    )
    expectProblem(
      await ctx.req('POST', `${API}/admin/jobs/${Bun.randomUUIDv7()}/retry`, { token: admin.token }),
      404,
    )
  })
})
