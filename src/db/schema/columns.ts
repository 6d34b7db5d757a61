import { type SQL, sql } from 'drizzle-orm'
import { type AnyPgColumn, integer, timestamp, uuid } from 'drizzle-orm/pg-core'

export const id = () =>
  uuid()
    .primaryKey()
    .$defaultFn(() => Bun.randomUUIDv7())

export const tstz = () => timestamp({ withTimezone: true, mode: 'date' })

export const timestamps = {
  createdAt: tstz().notNull().defaultNow(),
  updatedAt: tstz().notNull().defaultNow(),
}

/** Optimistic-concurrency counter: +1 on every change, served as the ETag. */
export const version = () => integer().notNull().default(1)

/**
 * The CHECK condition `column in ('a', 'b', …)` from an enum's constant list: the list in the
 * schema is the one source of the SQL constraint and of the TypeBox union (`literals`).
 */
export function oneOf(column: AnyPgColumn, values: readonly string[]): SQL {
  for (const v of values)
    if (!/^[a-z_]+$/.test(v)) throw new Error(`enum value ${v} is not a plain identifier`)
  return sql`${column} in (${sql.raw(values.map((v) => `'${v}'`).join(', '))})`
}
