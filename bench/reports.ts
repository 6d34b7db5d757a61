/**
 * The project report (POST /projects/{id}/reports, run by the report job) over a large project:
 * seeds one project with N tasks (default 100k, 5 assignees, done tasks completed over the last
 * 20 weeks) and times buildReport, the job's whole work, several times.
 *
 *   bun bench/reports.ts [--tasks=100000] [--db=postgres|pglite|both]
 * postgres needs a PostgreSQL on 127.0.0.1:5432 (a fresh database is made and dropped).
 */
import { sql } from 'drizzle-orm'
import { createDatabase } from '../src/db/client'
import { migrate } from '../src/db/migrate'
import { buildReport } from '../src/modules/reports/service'
import { seedProject, seedTasks, seedUsers } from './explain'
import { freshPostgres, table } from './lib'

const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def
const n = Number(arg('tasks', '100000'))
const which = arg('db', 'both')
const dbs = which === 'both' ? ['postgres', 'pglite'] : [which]
const rounds = 5

const rows: Record<string, string | number>[] = []
for (const kind of dbs) {
  const pg = kind === 'postgres' ? await freshPostgres() : null
  const database = await createDatabase({
    DATABASE_URL: pg?.url,
    DATA_DIR: '',
    memory: true,
    DB_POOL_MAX: 10,
    DB_STATEMENT_TIMEOUT_MS: 0,
  })
  try {
    await migrate(database)
    const people = await seedUsers(database, 5)
    const project = await seedProject(database, people[0]!, people.slice(1), `Report bench ${kind}`)
    const t0 = performance.now()
    await seedTasks(database, project.id, n, people)
    await database.rows(
      sql.raw(`update tasks set completed_at = now() - ((number % 140) || ' days')::interval
               where project_id = '${project.id}' and status = 'done'`),
    )
    await database.rows(sql.raw('analyze tasks'))
    const seeded = performance.now() - t0
    const times: number[] = []
    let report: Awaited<ReturnType<typeof buildReport>> | undefined
    for (let i = 0; i < rounds; i++) {
      const s = performance.now()
      report = await buildReport(database.db, project.id)
      times.push(performance.now() - s)
    }
    const first = times[0]!
    times.sort((a, b) => a - b)
    rows.push({
      db: kind,
      tasks: report!.tasks_total,
      'seed s': Number((seeded / 1000).toFixed(1)),
      'first ms': Math.round(first),
      'median ms': Math.round(times[Math.floor(rounds / 2)]!),
      'max ms': Math.round(times.at(-1)!),
      'overdue listed': report!.overdue.tasks.length,
      'weeks with completions': report!.completed_per_week.filter((w) => w.count > 0).length,
    })
    console.log(JSON.stringify(rows.at(-1)))
  } finally {
    await database.close()
    await pg?.drop()
  }
}
console.log(`\nbuildReport over one project, ${rounds} runs each\n`)
console.log(table(rows))
