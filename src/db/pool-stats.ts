import type postgres from 'postgres'

export interface PoolSnapshot {
  /** Connections the pool may open (PGlite: 1). */
  size: number
  /** Connections busy with a statement or a transaction. */
  inUse: number
  /** Statements and transactions sent that wait for a connection. */
  waiting: number
}

/**
 * Counts the statements and transactions in flight through one driver, for the pool gauges.
 * Neither driver reports its pool: postgres.js keeps its queues private, PGlite runs one statement
 * at a time behind a lock. A statement or transaction holds one connection from its start to its
 * end, and postgres.js gives each a free connection before it queues one (or pipelines it behind
 * another), so with n in flight and a pool of `size`, min(n, size) are in use and the rest wait.
 */
export class PoolStats {
  private active = 0
  constructor(readonly size: number) {}

  snapshot(): PoolSnapshot {
    return {
      size: this.size,
      inUse: Math.min(this.active, this.size),
      waiting: Math.max(0, this.active - this.size),
    }
  }

  /** Counts `run()`'s promise from now until it settles. */
  track<T>(run: () => Promise<T>): Promise<T> {
    this.active++
    try {
      return run().finally(() => this.active--)
    } catch (e) {
      this.active-- // run() threw before it made a promise
      throw e
    }
  }

  /**
   * postgres.js: counts what Drizzle sends through `unsafe` (a lazy query, counted from its first
   * `then`, when it is sent) and `begin` (a transaction holds its connection; its statements go
   * through the transaction's own client and are not counted again).
   */
  wrapPostgres(pg: postgres.Sql): postgres.Sql {
    const stats = this
    return new Proxy(pg, {
      get(target, prop) {
        if (prop === 'unsafe')
          return (...args: Parameters<postgres.Sql['unsafe']>) => {
            const query = target.unsafe(...args)
            const then = query.then
            let counted = false
            // biome-ignore lint/suspicious/noThenProperty: the query is a thenable already; this counts it
            query.then = function (this: typeof query, onDone, onFail) {
              if (counted) return then.call(this, onDone, onFail)
              counted = true
              stats.active++
              return then.call(
                this,
                (v) => {
                  stats.active--
                  return onDone ? onDone(v) : (v as never)
                },
                (e) => {
                  stats.active--
                  if (onFail) return onFail(e)
                  throw e
                },
              )
            } as typeof then
            return query
          }
        if (prop === 'begin')
          return (...args: unknown[]) =>
            stats.track(() => (target.begin as (...a: unknown[]) => Promise<unknown>)(...args))
        return Reflect.get(target, prop, target)
      },
    })
  }
}
