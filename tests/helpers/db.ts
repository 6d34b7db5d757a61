import { AsyncLocalStorage } from 'node:async_hooks'
import { createDatabase, type Database } from '../../src/db/client'
import { migrate } from '../../src/db/migrate'

/**
 * Counts SQL statements sent through Drizzle (for no-N+1 assertions), per countQueries call a statement belongs to: the async context it was sent from. Background
 * work of the same process (a job runner polling the shared database) runs in contexts of its own,
 * so it never lands in a request's count.
 */
const counting = new AsyncLocalStorage<{ count: number; statements: string[] }>()

let shared: Promise<Database> | undefined

/**
 * One migrated database per test process: PostgreSQL when DATABASE_URL is set (CI gives each run
 * a fresh database), otherwise an in-memory embedded PGlite. Tests isolate by creating their own
 * users and projects, never by truncating.
 */
export function testDatabase(): Promise<Database> {
  shared ??= (async () => {
    const database = await createDatabase({
      DATABASE_URL: process.env.DATABASE_URL || undefined,
      DATA_DIR: '',
      memory: true,
      DB_POOL_MAX: 10,
      DB_STATEMENT_TIMEOUT_MS: 30_000,
      onQuery: (q) => {
        const mine = counting.getStore()
        if (mine) {
          mine.count++
          mine.statements.push(q)
        }
      },
    })
    await migrate(database)
    return database
  })()
  return shared
}

export const usingPostgres = () => Boolean(process.env.DATABASE_URL)

/** Runs fn and returns how many SQL statements it sent, with their text. */
export async function countQueries<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; count: number; statements: string[] }> {
  const mine = { count: 0, statements: [] as string[] }
  const result = await counting.run(mine, fn)
  return { result, count: mine.count, statements: mine.statements }
}

/** A PostgreSQL server for tests that need a real one (DATABASE_URL's, or the local default), or null. */
export async function postgresServerUrl(): Promise<string | null> {
  const url =
    process.env.DATABASE_URL || process.env.TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres'
  const postgres = (await import('postgres')).default
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} })
  try {
    await sql`select 1`
    return url
  } catch {
    return null
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {})
  }
}
