import { createDatabase, type Database } from '../../src/db/client'
import { migrate } from '../../src/db/migrate'

/** Counts SQL statements sent through Drizzle (for no-N+1 assertions). */
export const queryLog = { count: 0, statements: [] as string[], recording: false }

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
        queryLog.count++
        if (queryLog.recording) queryLog.statements.push(q)
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
  const before = queryLog.count
  queryLog.statements = []
  queryLog.recording = true
  try {
    const result = await fn()
    return { result, count: queryLog.count - before, statements: [...queryLog.statements] }
  } finally {
    queryLog.recording = false
  }
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
