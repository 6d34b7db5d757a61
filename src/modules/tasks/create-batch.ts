import { sql } from 'drizzle-orm'
import { PgTransaction } from 'drizzle-orm/pg-core'
import { type Db, rowsOf } from '../../db/client'
import { events, projectMembers, projects, tasks } from '../../db/schema'
import { dispatchCtes, notifyEvents, WAKE_WORKERS } from '../../events/record'
import { pgErrorCode } from '../../lib/pg-errors'
import { rolesAtLeast } from '../../shared/access'
import { ADD_STATUS_TALLIES, STATUS_TALLIES } from './counts'
import type { PublicTask, TaskRow } from './mapper'

/** A task ready to insert: its row (number still 0), its public form (the event's data) and its event's id. */
export interface NewTask {
  row: TaskRow
  pub: PublicTask
  eventId: string
}

interface Pending extends NewTask {
  resolve(number: number | null): void
  reject(e: unknown): void
}

/** Most creates one statement carries; the rest wait for the next one. */
export const MAX_CREATE_BATCH = 64

/** Per database handle: the projects with a create statement running, and the creates waiting behind it. */
const queues = new WeakMap<Db, Map<string, Pending[]>>()

/**
 * Inserts a task with the next number of its project, with its event and webhook deliveries, if
 * its creator is an editor or owner of the project and the project is not deleted. Resolves to the
 * task's number, or null when nothing was written (the caller then says why).
 *
 * Creates in one project are serialized by the project's row lock, held until commit: one create
 * per commit would cap them at one WAL flush each. So the creates that arrive while one project's
 * statement runs wait, and the next statement inserts all of them (up to MAX_CREATE_BATCH), one
 * commit for the lot: group commit for a hot project. A lone create waits one turn of the event
 * loop at most, so the creates read in the same turn share its statement. Each create is checked
 * on its own inside the statement (its creator's role), so one refused create never refuses the
 * others, and a failed batch is retried one create at a time when the error allows (retriedOneByOne).
 */
export function insertTask(db: Db, task: NewTask): Promise<number | null> {
  // in a transaction, alone: after a failed statement the transaction is aborted, no retry can run
  if ((db as unknown) instanceof PgTransaction)
    return insertBatch(db, task.row.projectId, [task]).then((numbers) => numbers.get(0) ?? null)
  let byProject = queues.get(db)
  if (!byProject) {
    byProject = new Map()
    queues.set(db, byProject)
  }
  const projectId = task.row.projectId
  return new Promise((resolve, reject) => {
    const pending: Pending = { ...task, resolve, reject }
    const waiting = byProject.get(projectId)
    if (waiting) waiting.push(pending)
    else {
      const queue = [pending]
      byProject.set(projectId, queue)
      // after this turn of the event loop: the creates read in the same turn join this first batch
      // (on the embedded database a statement runs on this thread, so none arrive while it runs)
      setImmediate(() => void drain(db, projectId, queue, () => byProject.delete(projectId)))
    }
  })
}

/** Runs the queue's creates, a batch at a time, until none wait; then `done` (nothing awaits between the two). */
async function drain(db: Db, projectId: string, queue: Pending[], done: () => void) {
  let batch = queue.splice(0, MAX_CREATE_BATCH)
  while (batch.length) {
    await settle(db, projectId, batch)
    batch = queue.splice(0, MAX_CREATE_BATCH)
  }
  done()
}

/**
 * A failed batch is retried one create at a time when the database surely wrote nothing and the
 * cause may be one create's own: a data or integrity error (SQLSTATE classes 22, 23: a bad value, a
 * creator deleted meanwhile), or a rollback (class 40: a deadlock or serialization failure, e.g.
 * with a transaction that holds one creator's user row). Any other error (a lost connection, whose
 * commit may have happened; a statement timeout, which a retry would wait out again) fails them all.
 */
export const retriedOneByOne = (e: unknown) => /^(22|23|40)/.test(pgErrorCode(e) ?? '')

/** Runs one batch and settles each of its creates; never throws. */
async function settle(db: Db, projectId: string, batch: Pending[]): Promise<void> {
  try {
    const numbers = await insertBatch(db, projectId, batch)
    for (const [i, p] of batch.entries()) p.resolve(numbers.get(i) ?? null)
  } catch (e) {
    if (batch.length > 1 && retriedOneByOne(e)) {
      for (const p of batch) await settle(db, projectId, [p])
      return
    }
    for (const p of batch) p.reject(e)
  }
}

/** What one create sends: its public form (its event's data, with the row's fields) and two more keys. */
const input = (t: NewTask, i: number) => ({ ...t.pub, i, event_id: t.eventId })

/**
 * One statement, atomic on its own, the whole batch in one JSON parameter (one statement text
 * whatever the batch): keep the creates whose creator may create, bump the project's counters by
 * their number (its row lock serializes concurrent batches, so numbers never repeat), insert the
 * tasks numbered in batch order, and their events with the numbers filled in, and the deliveries.
 */
async function insertBatch(db: Db, projectId: string, batch: NewTask[]): Promise<Map<number, number>> {
  const project = sql`${projectId}::uuid`
  const result = await db.execute<{ i: number; number: number }>(sql`
    with input as (
      select x.*, e - 'i' - 'event_id' as data
      from jsonb_array_elements(${JSON.stringify(batch.map(input))}::jsonb) as e,
        jsonb_to_record(e) as x(i int, id uuid, created_by uuid, title text, description text,
          status text, priority text, assignee_id uuid, labels text[], due_date date,
          completed_at timestamptz, created_at timestamptz, event_id uuid)
    ), allowed as (
      select x.* from input x where exists (select 1 from ${projectMembers} m
        where m.project_id = ${project} and m.user_id = x.created_by and m.role in ${rolesAtLeast('editor')})
    ), bumped as (
      update ${projects} p set task_seq = p.task_seq + n.total, task_count = p.task_count + n.total,
        ${ADD_STATUS_TALLIES}
      from (select count(*) as total, ${STATUS_TALLIES} from allowed) as n
      where p.id = ${project} and p.deleted_at is null and n.total > 0
      returning p.task_seq - n.total as base
    ), numbered as (
      select a.*, (b.base + row_number() over (order by a.i))::int as number from allowed a cross join bumped b
    ), inserted as (
      insert into ${tasks} (id, project_id, number, title, description, status, priority, assignee_id, labels,
        due_date, completed_at, created_by, created_at, updated_at, version)
      select id, ${project}, number, title, description, status, priority, assignee_id, labels, due_date,
        completed_at, created_by, created_at, created_at, 1
      from numbered order by i
      returning 1
    ), event as (
      insert into ${events} (id, type, project_id, actor_id, occurred_at, data)
      select event_id, 'task.created', ${project}, created_by, created_at,
        jsonb_set(data, '{number}', to_jsonb(number))
      from numbered order by i
      returning id, type, project_id, seq
    ), ${dispatchCtes(sql`event`)}
    select i, number, ${WAKE_WORKERS}, ${notifyEvents([projectId])} from numbered`)
  return new Map(rowsOf<{ i: number; number: number }>(result).map((r) => [Number(r.i), Number(r.number)]))
}
