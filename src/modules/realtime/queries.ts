import { and, asc, eq, gt, sql } from 'drizzle-orm'
import { type Db, rowsOf } from '../../db/client'
import { prepared } from '../../db/prepared'
import { events } from '../../db/schema'
import { uuidArray } from '../../lib/sql'

export type EventRow = typeof events.$inferSelect

/**
 * The caller's view of a project for a subscription: null when the project is not theirs (or is
 * in the trash); else the seq of its last committed event (0 for none), read in the same snapshot
 * as the membership, so a removal after it is an event after `head`.
 */
export async function subscriptionHead(db: Db, projectId: string, userId: string): Promise<number | null> {
  const rows = rowsOf<{ head: string | number }>(
    await db.execute(sql`
      select coalesce((select max(seq) from events where project_id = ${projectId}::uuid), 0) as head
      from projects p join project_members m on m.project_id = p.id and m.user_id = ${userId}::uuid
      where p.id = ${projectId}::uuid and p.deleted_at is null`),
  )
  return rows[0] ? Number(rows[0].head) : null
}

/**
 * Where a `since` event sits in the project's history: its seq and how many events followed it
 * (counted up to `max + 1`, an index range scan); null when it is not an event of this project.
 */
export async function sinceLookup(
  db: Db,
  projectId: string,
  eventId: string,
  max: number,
): Promise<{ seq: number; missed: number } | null> {
  const rows = rowsOf<{ seq: string | number; missed: string | number }>(
    await db.execute(sql`
      select e.seq, (select count(*) from (select 1 from events x
        where x.project_id = e.project_id and x.seq > e.seq limit ${max + 1}) as c) as missed
      from events e where e.id = ${eventId}::uuid and e.project_id = ${projectId}::uuid`),
  )
  return rows[0] ? { seq: Number(rows[0].seq), missed: Number(rows[0].missed) } : null
}

/** The project's committed events after `seq`, oldest first. */
export function eventsAfter(db: Db, projectId: string, seq: number, limit: number): Promise<EventRow[]> {
  return prepared(db, 'realtime_events_after', (db) =>
    db
      .select()
      .from(events)
      .where(and(eq(events.projectId, sql.placeholder('project')), gt(events.seq, sql.placeholder('seq'))))
      .orderBy(asc(events.seq))
      .limit(sql.placeholder('limit'))
      .prepare('realtime_events_after'),
  ).execute({ project: projectId, seq, limit })
}

/**
 * Which of these sessions and API tokens still authenticate (not revoked or expired, user active):
 * one query for every open socket of the instance.
 */
export async function liveCredentials(
  db: Db,
  sessionIds: string[],
  tokenIds: string[],
): Promise<Set<string>> {
  const rows = rowsOf<{ id: string }>(
    await db.execute(sql`
      select s.id from sessions s join users u on u.id = s.user_id
      where s.id = any(${uuidArray(sessionIds)}) and s.revoked_at is null and s.expires_at > now() and u.is_active
      union all
      select t.id from api_tokens t join users u on u.id = t.user_id
      where t.id = any(${uuidArray(tokenIds)}) and (t.expires_at is null or t.expires_at > now()) and u.is_active`),
  )
  return new Set(rows.map((r) => r.id))
}
