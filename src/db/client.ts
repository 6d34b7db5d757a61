import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { PGlite, type QueryOptions, types } from '@electric-sql/pglite'
import type { SQL } from 'drizzle-orm'
import type { Logger as DrizzleLogger } from 'drizzle-orm/logger'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import { acquireDataDirLock } from './lock'
import { pgliteAssets } from './pglite-assets'
import { type PoolSnapshot, PoolStats } from './pool-stats'
import * as schema from './schema'

export type Schema = typeof schema
/** The one database type every service takes; a transaction (`tx`) satisfies it too. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>

export interface Database {
  db: Db
  kind: 'pglite' | 'postgres'
  /** Runs raw SQL and returns its rows, whichever driver is underneath. */
  rows<T = Record<string, unknown>>(query: SQL): Promise<T[]>
  ping(): Promise<void>
  close(): Promise<void>
  /**
   * Calls `onMessage` for every NOTIFY on `channel` after it commits (pg_notify in a transaction
   * is delivered at commit). PostgreSQL: a dedicated connection, so every instance hears every
   * other; embedded: in-process. Resolves to the function that stops listening.
   */
  listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>
  /** Connections in use and statements waiting for one, counted in this process (the metrics' gauges). */
  pool(): PoolSnapshot
  /** The postgres.js client (postgres mode only), for raw SQL such as EXPLAIN in bench/. */
  pg?: postgres.Sql
  /**
   * Embedded only: a consistent snapshot of the whole database as a gzipped tar (PGlite runs one
   * statement at a time, so the dump sees no half-done transaction). Restore with `restoreEmbedded`.
   */
  dump?(): Promise<Blob>
}

const embedded = new WeakSet<object>()
/** True for the embedded database's handle (PGlite), false for postgres.js's and for a transaction. */
export const isEmbedded = (db: Db) => embedded.has(db)

export interface DatabaseOptions {
  DATABASE_URL?: string
  DATA_DIR: string
  DB_POOL_MAX: number
  DB_STATEMENT_TIMEOUT_MS: number
  /** Called with every SQL statement Drizzle sends (tests count queries with it). */
  onQuery?: (query: string) => void
  /** In-memory embedded database (tests); no files, no lock. */
  memory?: boolean
  /** Embedded: start from this snapshot (a `dump()`), into an empty data directory. */
  loadDataDir?: Blob
}

/**
 * The parsers drizzle-orm passes with every PGlite query (dates, timestamps and intervals stay
 * text; drizzle maps them). PGlite merges per-query parsers into a copy of its whole parser map on
 * every query (12 % of the embedded server's CPU on GET /users/me), so they are set once on the
 * instance instead, and `withoutQueryParsers` drops the per-query copies. (PGlite keeps its own
 * parsers for array types, so a timestamp array arrives as an array of text; no column has one.)
 */
const asText = (value: string) => value
const DRIZZLE_PARSERS = Object.fromEntries(
  [types.TIMESTAMP, types.TIMESTAMPTZ, types.INTERVAL, types.DATE, 1231, 1115, 1185, 1187, 1182].map(
    (oid) => [oid, asText],
  ),
)
const ROW_MODE = { array: { rowMode: 'array' }, object: { rowMode: 'object' } } as const

type Queryable = Pick<PGlite, 'query'>
/** Also counts the top-level statements and transactions in `stats` (a transaction's own are not). */
export function withoutQueryParsers<C extends Queryable>(client: C, stats?: PoolStats): C {
  const count = <T>(run: () => Promise<T>) => (stats ? stats.track(run) : run())
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'query')
        return (query: string, params?: unknown[], opts?: QueryOptions) =>
          count(() =>
            target.query(
              query,
              params,
              opts?.parsers && Object.keys(opts).length === 2 && opts.rowMode ? ROW_MODE[opts.rowMode] : opts,
            ),
          )
      if (prop === 'transaction')
        return (fn: (tx: Queryable) => Promise<unknown>) =>
          count(() => (target as unknown as PGlite).transaction((tx) => fn(withoutQueryParsers(tx))))
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

function drizzleLogger(onQuery?: (q: string) => void): DrizzleLogger | undefined {
  return onQuery ? { logQuery: (q) => onQuery(q) } : undefined
}

export async function createDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.DATABASE_URL) return createPostgres(opts.DATABASE_URL, opts)
  return createPglite(opts)
}

/** Rows of a `db.execute()` result: postgres.js returns an array, PGlite `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[]
}

async function createPglite(opts: DatabaseOptions): Promise<Database> {
  let release = () => {}
  let dataDir: string | undefined
  if (!opts.memory) {
    const dir = resolve(opts.DATA_DIR)
    release = acquireDataDirLock(dir)
    dataDir = join(dir, 'pgdata')
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  }
  let client: PGlite
  try {
    client = await PGlite.create({
      dataDir,
      parsers: DRIZZLE_PARSERS,
      ...(await pgliteAssets()),
      ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}),
    })
  } catch (e) {
    release()
    throw e
  }
  const stats = new PoolStats(1)
  const db = drizzlePglite(withoutQueryParsers(client, stats), {
    schema,
    casing: 'snake_case',
    logger: drizzleLogger(opts.onQuery),
  }) as Db
  embedded.add(db)
  let closed = false
  return {
    db,
    kind: 'pglite',
    pool: () => stats.snapshot(),
    async rows<T>(query: SQL) {
      return rowsOf<T>(await db.execute(query))
    },
    async ping() {
      if (closed) throw new Error('database is closed')
      await client.query('select 1')
    },
    async dump() {
      return client.dumpDataDir('gzip')
    },
    async listen(channel, onMessage) {
      const stop = await client.listen(channel, onMessage)
      return async () => {
        if (!closed) await stop()
      }
    },
    async close() {
      if (closed) return
      closed = true
      try {
        await client.close()
      } finally {
        release()
      }
    },
  }
}

async function createPostgres(url: string, opts: DatabaseOptions): Promise<Database> {
  const pg = postgres(url, {
    max: opts.DB_POOL_MAX,
    idle_timeout: 20,
    connect_timeout: 10,
    onnotice: () => {},
    connection: opts.DB_STATEMENT_TIMEOUT_MS ? { statement_timeout: opts.DB_STATEMENT_TIMEOUT_MS } : {},
  })
  const stats = new PoolStats(opts.DB_POOL_MAX)
  const db = drizzlePostgres(stats.wrapPostgres(pg), {
    schema,
    casing: 'snake_case',
    logger: drizzleLogger(opts.onQuery),
  }) as Db
  return {
    db,
    kind: 'postgres',
    pg,
    pool: () => stats.snapshot(),
    async rows<T>(query: SQL) {
      return rowsOf<T>(await db.execute(query))
    },
    async ping() {
      await pg`select 1`
    },
    async listen(channel, onMessage) {
      const { unlisten } = await pg.listen(channel, (payload) => onMessage(payload))
      return async () => {
        await unlisten().catch(() => {})
      }
    },
    async close() {
      await pg.end({ timeout: 5 })
    },
  }
}
