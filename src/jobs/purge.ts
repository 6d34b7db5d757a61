import { and, eq, lt, or, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { jobs } from '../db/schema'
import { inBatches } from '../lib/purge'

const BATCH = 1_000

/** Finished jobs are kept for a while to be looked at: succeeded 7 days, failed 30 days. */
export function purgeFinishedJobs(db: Db, batch = BATCH) {
  return inBatches(batch, async () => {
    const gone = await db
      .delete(jobs)
      .where(
        sql`${jobs.id} in (select ${jobs.id} from ${jobs} where ${or(
          and(eq(jobs.status, 'succeeded'), lt(jobs.finishedAt, sql`now() - interval '7 days'`)),
          and(eq(jobs.status, 'failed'), lt(jobs.finishedAt, sql`now() - interval '30 days'`)),
        )} limit ${batch})`,
      )
      .returning({ id: jobs.id })
    return gone.length
  })
}
