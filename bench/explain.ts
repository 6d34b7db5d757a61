/**
 * Query plans of the task and project lists on PostgreSQL with 100k tasks in one project
 * (plus 20 other projects of 2k tasks each), to check that every filter and sort of the
 * contract has an index path. Usage: bun bench/explain.ts [--tasks=100000] [--filter=text]
 * Needs a PostgreSQL on 127.0.0.1:5432 (BENCH_PG_ADMIN overrides the admin URL).
 */
import { and, asc, count, desc, eq, sql } from 'drizzle-orm'
import { createDatabase, type Database } from '../src/db/client'
import { migrate } from '../src/db/migrate'
import { events, projectMembers, projects, tasks, users } from '../src/db/schema'
import { taskFilters, taskOrder } from '../src/modules/tasks/query'
import { myProjectIds } from '../src/modules/tasks/service'
import { freshPostgres } from './lib'

const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def

/** Inserts `n` tasks into a project with generate_series (seconds for 100k), varied like real data. */
export async function seedTasks(
  database: Database,
  projectId: string,
  n: number,
  assignees: string[],
  start = 1,
) {
  const arr = `array[${assignees.map((a) => `'${a}'::uuid`).join(',')}]`
  await database.rows(
    sql.raw(`
    insert into tasks (id, project_id, number, title, description, status, priority, assignee_id, labels, due_date, created_by, created_at, updated_at)
    select gen_random_uuid(), '${projectId}', g,
      'Task ' || g || ' ' || md5(g::text),
      case when g % 7 = 0 then 'Details with =formula, "quotes" and a, comma ' || md5((g * 3)::text) else '' end,
      (array['todo','in_progress','done','canceled'])[1 + (g % 4)],
      (array['low','medium','high','urgent'])[1 + ((g / 4) % 4)],
      case when g % 5 = 0 then null else (${arr})[1 + (g % ${assignees.length})] end,
      case g % 3 when 0 then array['bug'] when 1 then array['feature','web'] else '{}'::text[] end,
      case when g % 4 = 0 then null else (date '2026-01-01' + ((g * 37) % 730)) end,
      (${arr})[1],
      now() - (g || ' seconds')::interval, now() - ((g * 13 % 100000) || ' seconds')::interval
    from generate_series(${start}, ${start + n - 1}) g`),
  )
  // the counters the writes keep (task_count and per status), from the rows
  await database.rows(
    sql.raw(`update projects p set task_seq = ${start + n - 1}, task_count = c.total, todo_count = c.todo,
      in_progress_count = c.in_progress, done_count = c.done, canceled_count = c.canceled
    from (select count(*)::int as total, count(*) filter (where status = 'todo')::int as todo,
      count(*) filter (where status = 'in_progress')::int as in_progress,
      count(*) filter (where status = 'done')::int as done,
      count(*) filter (where status = 'canceled')::int as canceled
      from tasks where project_id = '${projectId}') c
    where p.id = '${projectId}'`),
  )
}

export async function seedUsers(database: Database, n: number): Promise<string[]> {
  const rows = await database.db
    .insert(users)
    .values(
      Array.from({ length: n }, (_, i) => {
        const name = `bench${Date.now()}_${i}_${Math.floor(Math.random() * 1e6)}`
        return { email: `${name}@example.com`, username: name, passwordHash: 'x' }
      }),
    )
    .returning({ id: users.id })
  return rows.map((r) => r.id)
}

export async function seedProject(database: Database, ownerId: string, members: string[], name: string) {
  const [p] = await database.db
    .insert(projects)
    .values({ name, slug: `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${Date.now()}`, ownerId })
    .returning()
  await database.db
    .insert(projectMembers)
    .values([
      { projectId: p!.id, userId: ownerId, role: 'owner' },
      ...members.map((u) => ({ projectId: p!.id, userId: u, role: 'editor' as const })),
    ])
  return p!
}

async function main() {
  const n = Number(arg('tasks', '100000'))
  const only = arg('filter', '')
  const pg = await freshPostgres()
  const database = await createDatabase({
    DATABASE_URL: pg.url,
    DATA_DIR: '',
    DB_POOL_MAX: 4,
    DB_STATEMENT_TIMEOUT_MS: 0,
  })
  try {
    await migrate(database)
    const people = await seedUsers(database, 6)
    const me = people[0]!
    const t0 = performance.now()
    const big = await seedProject(database, me, people.slice(1), 'Big project')
    await seedTasks(database, big.id, n, people)
    for (let i = 0; i < 20; i++) {
      const other = await seedProject(database, people[1 + (i % 5)]!, [me], `Other ${i}`)
      await seedTasks(database, other.id, 2000, people)
    }
    await database.rows(sql`
      insert into events (id, type, project_id, actor_id, data)
      select gen_random_uuid(), 'task.updated', ${big.id}, ${me}, '{}'::jsonb from generate_series(1, 50000)`)
    await database.rows(sql`vacuum analyze`)
    console.log(`seeded ${n} + 40000 tasks in ${Math.round(performance.now() - t0)} ms\n`)

    const db = database.db
    const page = (where: ReturnType<typeof and>, sort?: string) =>
      db
        .select()
        .from(tasks)
        .where(where)
        .orderBy(...taskOrder(sort))
        .limit(20)
        .offset(0)
    const inBig = (q: Record<string, string>) => and(eq(tasks.projectId, big.id), ...taskFilters(q, me))
    const scenarios: [string, { toSQL(): { sql: string; params: unknown[] } }][] = [
      ['tasks: default (number)', page(inBig({}))],
      ['tasks: count(*) no filter', db.select({ n: count() }).from(tasks).where(inBig({}))],
      [
        'tasks: sort=-number page 200',
        db
          .select()
          .from(tasks)
          .where(inBig({}))
          .orderBy(...taskOrder('-number'))
          .limit(20)
          .offset(4000),
      ],
      ['tasks: sort=created_at', page(inBig({}), 'created_at')],
      ['tasks: sort=-updated_at', page(inBig({}), '-updated_at')],
      ['tasks: sort=due_date', page(inBig({}), 'due_date')],
      ['tasks: sort=-due_date', page(inBig({}), '-due_date')],
      ['tasks: sort=-priority', page(inBig({}), '-priority')],
      ['tasks: sort=title', page(inBig({}), 'title')],
      ['tasks: status=todo,in_progress', page(inBig({ status: 'todo,in_progress' }))],
      ['tasks: priority=urgent sort=-due_date', page(inBig({ priority: 'urgent' }), '-due_date')],
      ['tasks: assignee_id=me', page(inBig({ assignee_id: 'me' }))],
      ['tasks: assignee_id=none', page(inBig({ assignee_id: 'none' }))],
      ['tasks: label=bug', page(inBig({ label: 'bug' }))],
      [
        'tasks: count label=bug',
        db
          .select({ n: count() })
          .from(tasks)
          .where(inBig({ label: 'bug' })),
      ],
      ['tasks: due_before=2026-02-01', page(inBig({ due_before: '2026-02-01' }))],
      ['tasks: due_after=2027-12-01 sort=due_date', page(inBig({ due_after: '2027-12-01' }), 'due_date')],
      ['tasks: overdue=true', page(inBig({ overdue: 'true' }), 'due_date')],
      ['tasks: search=abc1', page(inBig({ search: 'abc1' }))],
      [
        'tasks: count search=abc1',
        db
          .select({ n: count() })
          .from(tasks)
          .where(inBig({ search: 'abc1' })),
      ],
      [
        'export batch: number > 50000',
        db
          .select()
          .from(tasks)
          .where(and(inBig({ status: 'done' }), sql`${tasks.number} > 50000`))
          .orderBy(asc(tasks.number))
          .limit(500),
      ],
      [
        'my tasks: assignee=me sort=-updated_at',
        db
          .select()
          .from(tasks)
          .where(and(eq(tasks.assigneeId, me), sql`${tasks.projectId} in (${myProjectIds(db, me)})`))
          .orderBy(...taskOrder('-updated_at'))
          .limit(20),
      ],
      [
        'dashboard: due soon',
        db
          .select()
          .from(tasks)
          .where(
            and(
              eq(tasks.assigneeId, me),
              sql`${tasks.status} in ('todo','in_progress')`,
              sql`${tasks.dueDate} >= '2026-06-01'`,
            ),
          )
          .orderBy(asc(tasks.dueDate), asc(tasks.id))
          .limit(5),
      ],
      [
        'activity: newest first',
        db
          .select()
          .from(events)
          .where(eq(events.projectId, big.id))
          .orderBy(desc(events.seq))
          .limit(20)
          .offset(0),
      ],
      [
        'projects: my list sort=name',
        db
          .select()
          .from(projectMembers)
          .innerJoin(projects, eq(projects.id, projectMembers.projectId))
          .where(and(eq(projectMembers.userId, me), sql`${projects.deletedAt} is null`))
          .orderBy(sql`lower(${projects.name})`, asc(projects.id))
          .limit(20),
      ],
    ]
    for (const [name, q] of scenarios) {
      if (only && !name.includes(only)) continue
      const { sql: text, params } = q.toSQL()
      const plan = await database.pg!.unsafe(
        `explain (analyze, costs off, buffers off) ${text}`,
        params as never[],
      )
      const lines = plan.map((r) => String(r['QUERY PLAN']))
      console.log(`== ${name}`)
      console.log(
        lines.filter((l) => !/^\s*(Planning|Heap Blocks|Rows Removed by|Buffers)/.test(l)).join('\n'),
      )
      console.log()
    }
  } finally {
    await database.close()
    await pg.drop()
  }
}

if (import.meta.main) await main()
