import { integer, timestamp, uuid } from 'drizzle-orm/pg-core'

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
