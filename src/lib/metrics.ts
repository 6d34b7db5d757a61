import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { PoolSnapshot } from '../db/pool-stats'

/** Seconds buckets for request latency: 1 ms to 10 s. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export interface QueueSnapshot {
  types: Record<string, { queued: number; running: number; succeeded: number; failed: number }>
  oldest_queued_age_seconds: number | null
}

export interface MetricsSources {
  /** Job counts by type and status, and the oldest waiting job's age (read at scrape time). */
  jobs?: () => Promise<QueueSnapshot>
  /** Rate-limit operations answered from memory because the shared store (Redis) failed. */
  rateLimitFallbacks?: () => number
  /** Requests in flight in this process (Bun's server.pendingRequests). */
  inFlight?: () => number
  /** Open realtime WebSockets of this process. */
  websockets?: () => number
  /** The database pool: its size, connections in use, statements waiting for one. */
  pool?: () => PoolSnapshot
}

/**
 * The process's Prometheus metrics (prom-client, one registry per app so tests can build many):
 * HTTP requests by route template (never raw paths), method and status with a latency histogram;
 * requests in flight; job queue depth and age by type; rate-limit fallbacks; and prom-client's
 * process metrics (memory, CPU, event-loop lag, GC).
 */
export function createMetrics(sources: MetricsSources = {}) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const requests = new Counter({
    name: 'taskbase_http_requests_total',
    help: 'HTTP requests answered, by route template, method and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  })
  const latency = new Histogram({
    name: 'taskbase_http_request_duration_seconds',
    help: 'HTTP request latency, by route template and method',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  })
  new Gauge({
    name: 'taskbase_http_requests_in_flight',
    help: 'HTTP requests being served by this process',
    registers: [registry],
    collect() {
      this.set(sources.inFlight?.() ?? 0)
    },
  })
  new Gauge({
    name: 'taskbase_websocket_connections',
    help: 'Realtime WebSockets open on this process',
    registers: [registry],
    collect() {
      this.set(sources.websockets?.() ?? 0)
    },
  })
  const pool = sources.pool
  if (pool) {
    const gauges = [
      ['taskbase_db_pool_size', 'Database connections this process may open', 'size'],
      ['taskbase_db_pool_in_use', 'Database connections busy with a statement or transaction', 'inUse'],
      [
        'taskbase_db_pool_waiting',
        'Statements and transactions waiting for a database connection',
        'waiting',
      ],
    ] as const
    for (const [name, help, key] of gauges)
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(pool()[key])
        },
      })
  }
  const jobs = sources.jobs
  if (jobs) {
    let snapshot: Promise<QueueSnapshot> | undefined
    // one query per scrape, shared by the two gauges that read it
    const read = () => {
      snapshot ??= jobs().finally(() => {
        setTimeout(() => {
          snapshot = undefined
        }, 0)
      })
      return snapshot
    }
    new Gauge({
      name: 'taskbase_jobs',
      help: 'Jobs in the queue table by type and status',
      labelNames: ['type', 'status'] as const,
      registers: [registry],
      async collect() {
        this.reset()
        for (const [type, counts] of Object.entries((await read()).types))
          for (const [status, n] of Object.entries(counts)) this.set({ type, status }, n)
      },
    })
    new Gauge({
      name: 'taskbase_jobs_oldest_queued_age_seconds',
      help: 'How long the oldest due, unclaimed job has waited (0 when none waits)',
      registers: [registry],
      async collect() {
        this.set((await read()).oldest_queued_age_seconds ?? 0)
      },
    })
  }
  new Counter({
    name: 'taskbase_rate_limit_fallbacks_total',
    help: 'Rate-limit operations answered from this instance’s memory because Redis failed',
    registers: [registry],
    collect() {
      const n = sources.rateLimitFallbacks?.() ?? 0
      this.reset()
      this.inc(n)
    },
  })

  const webhookDeliveries = new Counter({
    name: 'taskbase_webhook_delivery_attempts_total',
    help: 'Webhook delivery attempts made by this instance, by outcome (succeeded, retrying, failed for good)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  })
  for (const outcome of ['succeeded', 'retrying', 'failed']) webhookDeliveries.inc({ outcome }, 0)

  return {
    registry,
    /** Counts one webhook delivery attempt. */
    webhookOutcome(outcome: 'succeeded' | 'retrying' | 'failed') {
      webhookDeliveries.inc({ outcome })
    },
    /** Records one answered request (route: the template, e.g. /api/v1/tasks/:id). */
    observe(method: string, route: string, status: number, seconds: number) {
      requests.inc({ method, route, status: String(status) })
      latency.observe({ method, route }, seconds)
    },
    text: () => registry.metrics(),
    /** The scrape answer: Prometheus text with its content type. */
    async response() {
      return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } })
    },
  }
}

export type Metrics = ReturnType<typeof createMetrics>
