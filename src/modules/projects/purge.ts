import { and, isNotNull, lt, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { events, projects, tasks } from '../../db/schema'
import { inBatches } from '../../lib/purge'
import { RESTORE_WINDOW_DAYS } from './service'

const BATCH = 1_000

/**
 * Deletes projects whose 30 days in the trash are over, with everything in them, in batches of
 * short statements (tasks — their comments cascade —, then events, then the project), so purging
 * a 100k-task project never holds long locks. A restore cannot race it: restores end at 30 days.
 */
export async function purgeTrash(db: Db, opts: { projects?: number; batch?: number } = {}) {
  const batch = opts.batch ?? BATCH
  const due = await db
    .select({ id: projects.id })
    .from(projects)
    .where(
      and(
        isNotNull(projects.deletedAt),
        lt(projects.deletedAt, sql`now() - ${`${RESTORE_WINDOW_DAYS} days`}::interval`),
      ),
    )
    .limit(opts.projects ?? 20)
  let taskRows = 0
  for (const { id } of due) {
    taskRows += await inBatches(batch, async () => {
      const gone = await db
        .delete(tasks)
        .where(
          sql`${tasks.id} in (select ${tasks.id} from ${tasks} where ${tasks.projectId} = ${id} limit ${batch})`,
        )
        .returning({ id: tasks.id })
      return gone.length
    })
    await inBatches(batch, async () => {
      const gone = await db
        .delete(events)
        .where(
          sql`${events.seq} in (select ${events.seq} from ${events} where ${events.projectId} = ${id} limit ${batch})`,
        )
        .returning({ seq: events.seq })
      return gone.length
    })
    await db.delete(projects).where(sql`${projects.id} = ${id}`)
  }
  return { projects: due.length, tasks: taskRows }
}
