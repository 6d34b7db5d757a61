import { sql } from 'drizzle-orm'
import { type Database, rowsOf } from './client'
import { embeddedMigrations } from './migrations.generated'

export interface Migration {
  tag: string
  hash: string
  createdAt: number
  statements: string[]
}

/** Same table and hash as drizzle-kit's migrator, so both tools agree on what has run. */
export function loadMigrations(list = embeddedMigrations): Migration[] {
  return list.map((m) => ({
    tag: m.tag,
    hash: new Bun.CryptoHasher('sha256').update(m.sql).digest('hex'),
    createdAt: m.when,
    statements: m.breakpoints ? m.sql.split('--> statement-breakpoint') : [m.sql],
  }))
}

export class MigrationDriftError extends Error {
  constructor(readonly tag: string) {
    super(
      `migration ${tag} was changed after it was applied to this database (its hash differs); ` +
        'restore the original file, or write a new migration instead of editing an applied one',
    )
    this.name = 'MigrationDriftError'
  }
}

/** Arbitrary constant shared by every Taskbase instance: "taskbase" as an int64. */
const MIGRATION_LOCK_KEY = 0x7461736b62617365n

const appliedQuery = sql`select hash, created_at from drizzle.__drizzle_migrations order by created_at`

/**
 * Applies pending migrations in one transaction that first takes a transaction-scoped advisory
 * lock, so instances starting together run them once; the others wait, then find nothing to do.
 * Unlike drizzle's migrate(), every migration not yet recorded runs, even one older than the last;
 * one recorded under the same timestamp with another hash was edited after it ran: refused.
 */
export async function migrate(database: Database, migrations = loadMigrations()): Promise<string[]> {
  const applied: string[] = []
  await database.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`)
    await tx.execute(sql`create schema if not exists drizzle`)
    await tx.execute(
      sql`create table if not exists drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)`,
    )
    const rows = rowsOf<{ hash: string; created_at: string | number }>(await tx.execute(appliedQuery))
    const done = new Set(rows.map((r) => r.hash))
    const recordedAt = new Set(rows.map((r) => Number(r.created_at)))
    for (const m of migrations) {
      if (done.has(m.hash)) continue
      if (recordedAt.has(m.createdAt)) throw new MigrationDriftError(m.tag)
      for (const stmt of m.statements) if (stmt.trim()) await tx.execute(sql.raw(stmt))
      await tx.execute(
        sql`insert into drizzle.__drizzle_migrations (hash, created_at) values (${m.hash}, ${m.createdAt})`,
      )
      applied.push(m.tag)
    }
  })
  return applied
}

/** Tags of embedded migrations the database has not recorded yet (for /ready). */
export async function pendingMigrations(
  database: Database,
  migrations = loadMigrations(),
): Promise<string[]> {
  const [exists] = await database.rows<{ t: string | null }>(
    sql`select to_regclass('drizzle.__drizzle_migrations') as t`,
  )
  if (!exists?.t) return migrations.map((m) => m.tag)
  const done = new Set((await database.rows<{ hash: string }>(appliedQuery)).map((r) => r.hash))
  return migrations.filter((m) => !done.has(m.hash)).map((m) => m.tag)
}
