import { describe, expect, test } from 'bun:test'
import { eq, inArray } from 'drizzle-orm'
import { idempotencyKeys, projects } from '../../src/db/schema'
import { purgeJob } from '../../src/jobs/definitions'
import { purgeExpiredRows } from '../../src/lib/purge'
import { RESTORE_WINDOW_DAYS } from '../../src/modules/projects/service'
import { createUser, unique } from '../helpers/app'
import { API, makeProject, testApp } from '../helpers/projects-fixtures'

const DAY = 86_400_000

/** Issue 7 #5: expiring rows outside identity are removed by a periodic purge, not only on reuse. */
describe('periodic purge of expiring rows', () => {
  async function seed() {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const [expired, live] = [unique('old-'), unique('new-')]
    await ctx.db.insert(idempotencyKeys).values([
      { userId: me.id, key: expired, requestHash: 'h', expiresAt: new Date(Date.now() - 1000) },
      { userId: me.id, key: live, requestHash: 'h', expiresAt: new Date(Date.now() + 60_000) },
    ])
    const [old, recent, alive] = [
      await makeProject(ctx, me),
      await makeProject(ctx, me),
      await makeProject(ctx, me),
    ]
    await ctx.db
      .update(projects)
      .set({ deletedAt: new Date(Date.now() - (RESTORE_WINDOW_DAYS + 1) * DAY) })
      .where(eq(projects.id, old.id))
    expect((await ctx.req('DELETE', `${API}/projects/${recent.id}`, { token: me.token })).status).toBe(204)
    const keys = async () =>
      (await ctx.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.userId, me.id))).map((r) => r.key)
    const projectIds = async () =>
      (
        await ctx.db
          .select({ id: projects.id })
          .from(projects)
          .where(inArray(projects.id, [old.id, recent.id, alive.id]))
      ).map((r) => r.id)
    return { ctx, me, expired, live, old, recent, alive, keys, projectIds }
  }

  test('purgeExpiredRows deletes expired idempotency keys only, in batches; live keys and projects stay', async () => {
    const s = await seed()
    // more expired keys than one batch of 2
    await s.ctx.db.insert(idempotencyKeys).values(
      [1, 2, 3, 4].map((i) => ({
        userId: s.me.id,
        key: `${s.expired}-${i}`,
        requestHash: 'h',
        expiresAt: new Date(Date.now() - 1000),
      })),
    )
    const counts = await purgeExpiredRows(s.ctx.db, 2)
    expect(counts.idempotency_keys).toBeGreaterThanOrEqual(5)
    expect(await s.keys()).toEqual([s.live])
    // trashed projects are the purge job's (src/jobs/definitions.ts), not this one's
    expect((await s.projectIds()).sort()).toEqual([s.old.id, s.recent.id, s.alive.id].sort())
    expect((await purgeExpiredRows(s.ctx.db)).idempotency_keys).toBeGreaterThanOrEqual(0)
    expect(await s.keys()).toEqual([s.live])
  })

  test('the hourly purge job removes them, and reports how many', async () => {
    const s = await seed()
    const result = (await purgeJob(s.ctx.database).handle({}, {} as never)) as Record<string, number>
    expect(result.idempotencyKeys).toBeGreaterThanOrEqual(1)
    expect(await s.keys()).toEqual([s.live])
  })
})
