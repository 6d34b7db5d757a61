import { LruCache } from '../lib/lru'
import type { Db } from './client'

/**
 * Most prepared queries a database handle keeps. Names are code-chosen shapes (a few dozen), but
 * a name may be derived from a parsed request (a sort order): the bound keeps memory flat even if
 * a future caller forgets to normalise its key.
 */
export const PREPARED_CACHE_MAX = 256

const caches = new WeakMap<object, LruCache<string, unknown>>()

/**
 * A query built once per database handle and reused. Building a Drizzle query costs ~100 µs of
 * CPU per call (measured), more than the round trip itself, so hot paths prepare theirs: values
 * go in through `sql.placeholder`. Only for the root `db` (a transaction is a different handle).
 * `name` must come from a parsed, allow-listed shape, never from raw client input.
 */
export function prepared<T>(db: Db, name: string, build: (db: Db) => T): T {
  let cache = caches.get(db)
  if (!cache) {
    cache = new LruCache(PREPARED_CACHE_MAX)
    caches.set(db, cache)
  }
  let query = cache.get(name) as T | undefined
  if (query === undefined) {
    query = build(db)
    cache.set(name, query)
  }
  return query
}

/** How many prepared queries `db` holds (tests check the bound). */
export const preparedCacheSize = (db: Db): number => caches.get(db)?.size ?? 0
