import { and, eq, lt, or, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { jobs } from '../db/schema'

const BATCH = 1_000

/** Finished jobs are kept for a while to be looked at: succeeded 7 days, failed 30 days. */
export async function purgeFinishedJobs(db: Db, batch = BATCH) {
  let total = 0
  for (;;) {
    const gone = await db
      .delete(jobs)
      .where(
        sql`${jobs.id} in (select ${jobs.id} from ${jobs} where ${or(
          and(eq(jobs.status, 'succeeded'), lt(jobs.finishedAt, sql`now() - interval '7 days'`)),
          and(eq(jobs.status, 'failed'), lt(jobs.finishedAt, sql`now() - interval '30 days'`)),
        )} limit ${batch})`,
      )
      .returning({ id: jobs.id })
    total += gone.length
    if (gone.length < batch) return total
  }
}
