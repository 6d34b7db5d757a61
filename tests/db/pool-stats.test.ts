import { expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { createDatabase } from '../../src/db/client'
import { PoolStats } from '../../src/db/pool-stats'

/**
 * Issue 13 #1: the database pool's in-use and waiting counts, for the metrics. One connection
 * (PGlite always has one; PostgreSQL with DB_POOL_MAX=1): a transaction held open takes it, and
 * two queries sent meanwhile wait.
 */
test('pool(): a held transaction is in use, queries sent meanwhile wait, and both return to 0', async () => {
  const database = await createDatabase({
    DATABASE_URL: process.env.DATABASE_URL || undefined,
    DATA_DIR: '',
    memory: true,
    DB_POOL_MAX: 1,
    DB_STATEMENT_TIMEOUT_MS: 10_000,
  })
  try {
    expect(database.pool()).toEqual({ size: 1, inUse: 0, waiting: 0 })
    let release = () => {}
    const gate = new Promise<void>((r) => {
      release = r
    })
    let inside = () => {}
    const entered = new Promise<void>((r) => {
      inside = r
    })
    const tx = database.db.transaction(async (t) => {
      await t.execute(sql`select 1`)
      inside()
      await gate
    })
    await entered
    expect(database.pool()).toEqual({ size: 1, inUse: 1, waiting: 0 })
    const queued = Promise.all([database.rows(sql`select 1 as a`), database.rows(sql`select 2 as a`)])
    await Bun.sleep(20)
    expect(database.pool()).toEqual({ size: 1, inUse: 1, waiting: 2 })
    release()
    await tx
    expect((await queued).map((r) => r[0])).toEqual([{ a: 1 }, { a: 2 }])
    expect(database.pool()).toEqual({ size: 1, inUse: 0, waiting: 0 })
    // a failing statement gives its slot back too
    expect(database.rows(sql`select 1/0`)).rejects.toThrow()
    await Bun.sleep(10)
    expect(database.pool()).toEqual({ size: 1, inUse: 0, waiting: 0 })
  } finally {
    await database.close()
  }
})

test('track(): a run that throws before making its promise, and one that rejects, give their slot back', async () => {
  const stats = new PoolStats(2)
  expect(() =>
    stats.track(() => {
      throw new Error('synchronous')
    }),
  ).toThrow('synchronous')
  await expect(stats.track(() => Promise.reject(new Error('rejected')))).rejects.toThrow('rejected')
  expect(stats.snapshot()).toEqual({ size: 2, inUse: 0, waiting: 0 })
})
