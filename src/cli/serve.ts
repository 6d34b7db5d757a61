import { createApp } from '../app'
import { migrate } from '../db/migrate'
import type { Lifecycle } from '../deps'
import { JOB_SCHEDULES, jobDefinitions } from '../jobs/definitions'
import { jobStats } from '../jobs/queue'
import { JobRunner } from '../jobs/runner'
import { collectAfterStart } from '../lib/gc-pacing'
import { createMailer } from '../lib/mailer'
import { createMetrics } from '../lib/metrics'
import { createRateLimitStore } from '../lib/rate-limit-redis'
import { VERSION } from '../lib/version'
import { createStorage } from '../modules/attachments'
import { websocketOptions } from '../modules/realtime'
import { type CliIO, loggerFor, openDatabase, settingsOrExit } from './common'

export interface RunningServer {
  port: number
  url: string
  /** Where /metrics answers when METRICS_PORT gives it a listener of its own. */
  metricsUrl?: string
  /** Stops accepting, waits for in-flight requests (up to SHUTDOWN_TIMEOUT_MS), closes the database. */
  shutdown(reason?: string): Promise<void>
  closed: Promise<void>
}

/**
 * The job runner's load signal: true while at least `atRequests` HTTP requests are in flight in
 * this server (Bun counts them); never with 0.
 */
export function apiBusy(server: { readonly pendingRequests: number }, atRequests: number) {
  return () => atRequests > 0 && server.pendingRequests >= atRequests
}

export async function startServer(io: CliIO): Promise<RunningServer> {
  const settings = settingsOrExit(io, { persistSecret: true })
  const logger = loggerFor(settings)
  if (settings.secretGenerated)
    logger.warn(
      'SECRET_KEY is not set: using a generated key kept in DATA_DIR/secret_key; set SECRET_KEY in production',
    )
  const started = performance.now()
  const database = await openDatabase(settings)
  try {
    const applied = await migrate(database)
    if (applied.length) logger.info('migrations applied', { migrations: applied })
  } catch (e) {
    await database.close()
    throw e
  }
  const lifecycle: Lifecycle = { shuttingDown: false }
  const limits = createRateLimitStore(settings.REDIS_URL, logger)
  await limits.ready
  let pending = () => 0
  let sockets = () => 0
  const metrics = settings.METRICS_ENABLED
    ? createMetrics({
        jobs: () => jobStats(database.db),
        pool: () => database.pool(),
        inFlight: () => pending(),
        websockets: () => sockets(),
        rateLimitFallbacks: limits.fallbacks,
      })
    : undefined
  const storage = createStorage(settings)
  const app = createApp({
    storage,
    settings,
    database,
    logger,
    lifecycle,
    rateLimitStore: limits.store,
    metrics,
  }).listen({
    hostname: settings.HOST,
    port: settings.PORT,
    reusePort: false,
    // Bun answers oversize bodies with an empty 413 before the app runs: keep its cap above ours,
    // so the app itself rejects them with problem+json.
    // Bodies are never buffered whole: Content-Length over MAX_BODY_BYTES is refused before reading
    // and chunked ones are cut while streaming, so this outer cap can be generous.
    maxRequestBodySize: Math.max(settings.MAX_BODY_BYTES * 2, 1024 * 1024 * 1024),
    websocket: websocketOptions(settings),
  })
  const realtime = app.decorator.realtime
  sockets = () => realtime.connections
  const server = app.server!
  pending = () => server.pendingRequests
  // METRICS_PORT: a listener of its own, so /metrics is never exposed with the API
  const metricsServer =
    metrics && settings.METRICS_PORT
      ? Bun.serve({
          hostname: settings.HOST,
          port: settings.METRICS_PORT,
          fetch: (req) =>
            new URL(req.url).pathname === '/metrics'
              ? metrics.response()
              : new Response('Not Found', { status: 404 }),
        })
      : undefined
  // background work belongs to the serving process, not to the app (tests build many apps)
  const runner = settings.JOBS_ENABLED
    ? new JobRunner({
        database,
        logger,
        definitions: jobDefinitions({
          storage,
          database,
          settings,
          logger,
          mailer: createMailer(settings, logger),
          onWebhookOutcome: metrics?.webhookOutcome,
        }),
        concurrency: settings.JOBS_CONCURRENCY,
        pollIntervalMs: settings.JOBS_POLL_INTERVAL_MS,
        schedules: JOB_SCHEDULES,
        busy: apiBusy(server, settings.JOBS_YIELD_AT_REQUESTS),
        // the embedded data dir is locked to this process: what it finds running, a crash left
        soleWorker: database.kind === 'pglite',
      })
    : undefined
  await runner?.start()
  const port = server.port ?? settings.PORT
  logger.info('taskbase listening', {
    version: VERSION,
    url: `http://${settings.HOST}:${port}`,
    database: database.kind,
    jobs: runner ? settings.JOBS_CONCURRENCY : 'off',
    startup_ms: Math.round(performance.now() - started),
  })

  // the embedded database leaves its start-up garbage on the heap: collect it once, after start
  if (database.kind === 'pglite') collectAfterStart()

  let resolveClosed!: () => void
  const closed = new Promise<void>((r) => {
    resolveClosed = r
  })
  let stopping: Promise<void> | undefined
  const shutdown = (reason = 'shutdown') => {
    stopping ??= (async () => {
      lifecycle.shuttingDown = true
      logger.info('shutting down', { reason })
      // behind a load balancer: /ready is 503 now; keep serving until its health check notices,
      // so no request is sent to a listener that is already closed
      if (settings.SHUTDOWN_DELAY_MS) await Bun.sleep(settings.SHUTDOWN_DELAY_MS)
      // running jobs get the same grace period, then go back to the queue for another instance (or
      // the next start): none is lost
      const jobsStopped = runner?.stop(settings.SHUTDOWN_TIMEOUT_MS)
      // sockets are closed with 1001 (going away): clients reconnect, through the balancer, elsewhere
      await realtime.close()
      const timeout = new Promise<'timeout'>((r) =>
        setTimeout(() => r('timeout'), settings.SHUTDOWN_TIMEOUT_MS).unref(),
      )
      const result = await Promise.race([server.stop(false).then(() => 'drained' as const), timeout])
      if (result === 'timeout') {
        logger.warn('in-flight requests did not finish in time; closing them', {
          timeout_ms: settings.SHUTDOWN_TIMEOUT_MS,
        })
        await server.stop(true)
      }
      await jobsStopped
      metricsServer?.stop(true)
      await database.close()
      limits.close()
      logger.info('stopped')
      resolveClosed()
    })()
    return stopping
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    metricsUrl: metricsServer ? `http://127.0.0.1:${metricsServer.port}/metrics` : undefined,
    shutdown,
    closed,
  }
}

/** `taskbase serve`: runs until SIGTERM or SIGINT, then shuts down gracefully and returns 0. */
export async function serveCommand(io: CliIO): Promise<number> {
  const running = await startServer(io)
  const onSignal = (sig: string) => () => void running.shutdown(sig)
  process.on('SIGTERM', onSignal('SIGTERM'))
  process.on('SIGINT', onSignal('SIGINT'))
  await running.closed
  return 0
}
