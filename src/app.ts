import { cors } from '@elysiajs/cors'
import { Elysia } from 'elysia'
import { corsOrigins } from './config'
import type { AppDeps } from './deps'
import { jobStats } from './jobs/queue'
import { API_PREFIX } from './lib/api'
import { createApiLimits } from './lib/api-limits'
import { GroupedCache } from './lib/grouped-cache'
import { createMetrics } from './lib/metrics'
import { MemoryRateLimitStore } from './lib/rate-limit'
import { activityRoutes } from './modules/activity'
import { attachmentRoutes, createStorage } from './modules/attachments'
import { backupRoutes } from './modules/backup'
import { commentRoutes } from './modules/comments'
import { dashboardRoutes } from './modules/dashboard'
import { createAuthenticator, createJwt, identityModule } from './modules/identity'
import { PRINCIPALS_CHANNEL, PrincipalCache } from './modules/identity/principal-cache'
import { jobRoutes } from './modules/jobs'
import { projectsModule } from './modules/projects'
import { Hub, realtimeRoutes } from './modules/realtime'
import { reportRoutes } from './modules/reports'
import { systemRoutes } from './modules/system'
import { taskRoutes } from './modules/tasks'
import { webhookRoutes } from './modules/webhooks'
import { authPlugin } from './plugins/auth'
import { DOCS_PATH, docsPlugin, SPEC_PATH } from './plugins/docs'
import { DOCS_CSP, httpPlugin } from './plugins/http'
import { idempotencyPlugin } from './plugins/idempotency'
import { addErrorResponses, fillRequestBodies, type RouteInfo } from './plugins/openapi-errors'
import { cacheProjectAccess, PROJECTS_CHANNEL, type ProjectAccess } from './shared/access'

export { API_PREFIX }

/**
 * The embedded server's caches of principals and of project access, live once the database's
 * change notifications are heard (src/modules/identity/principal-cache.ts, src/shared/access.ts).
 * PostgreSQL mode has none: another instance's logout or member removal reaches this one only as
 * fast as its NOTIFY, and a revocation must hold on the next request.
 */
function embeddedCaches({ database, settings, logger }: AppDeps) {
  if (database.kind !== 'pglite' || settings.AUTH_CACHE_SIZE === 0) {
    cacheProjectAccess(database.db, undefined)
    return undefined
  }
  const principals = new PrincipalCache(settings.AUTH_CACHE_SIZE)
  const access = new GroupedCache<ProjectAccess>(settings.AUTH_CACHE_SIZE, (a) => a.project.id)
  const hear = (channel: string, cache: Pick<GroupedCache<unknown>, 'invalidate' | 'activate'>) =>
    database
      .listen(channel, (id) => cache.invalidate(id))
      .then(
        () => cache.activate(),
        (err) => logger.error('cache off: could not listen for changes', { channel, err: String(err) }),
      )
  hear(PRINCIPALS_CHANNEL, principals)
  hear(PROJECTS_CHANNEL, access)
  cacheProjectAccess(database.db, access)
  return principals
}

/** Builds the whole HTTP application. Never listens: index.ts serves it, tests call app.handle(). */
export function createApp(deps: AppDeps) {
  const { settings, database, logger } = deps
  const jwt = createJwt(settings.SECRET_KEY, settings.JWT_ALGORITHM, settings.jwtPreviousSecrets)
  const limits = deps.rateLimitStore ?? new MemoryRateLimitStore()
  const metrics =
    deps.metrics ??
    (settings.METRICS_ENABLED
      ? createMetrics({ jobs: () => jobStats(database.db), pool: () => database.pool() })
      : undefined)
  const authenticate = createAuthenticator(database.db, jwt, logger, embeddedCaches(deps))
  const spend = createApiLimits(settings, limits)
  const auth = authPlugin(authenticate, spend)
  const idempotency = idempotencyPlugin({ db: database.db, logger })
  const origins = corsOrigins(settings)
  // one storage for the whole app: the routes, the backup and (serve passes it on) the jobs
  const storage = deps.storage ?? createStorage(settings)
  const mod = { ...deps, auth, storage }
  // realtime sockets of this app (serve closes them on shutdown through app.decorator.realtime)
  const realtime = new Hub({ database, settings, logger, authenticate, spend })

  let listRoutes!: () => RouteInfo[]
  const app = new Elysia({ normalize: false })
    .use(httpPlugin({ settings, logger, metrics }))
    .use(
      cors({
        origin: origins === true ? true : origins.length ? origins : false,
        credentials: false,
        methods: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS'],
        allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'Idempotency-Key', 'X-Request-ID'],
        exposeHeaders: [
          'Allow',
          'ETag',
          'Location',
          'Retry-After',
          'RateLimit',
          'RateLimit-Policy',
          'X-Request-ID',
          'Idempotency-Replayed',
        ],
        maxAge: 600,
      }),
    )
    .onRequest(({ request, set }) => {
      // string test, no URL parse: this runs on every request
      const url = request.url
      const end = url.indexOf('?')
      if ((end === -1 ? url : url.slice(0, end)).endsWith(DOCS_PATH))
        set.headers['content-security-policy'] = DOCS_CSP
    })
    .onAfterHandle({ as: 'global' }, ({ path, response }) => {
      if (path === SPEC_PATH && response && typeof response === 'object')
        return addErrorResponses(fillRequestBodies(response, listRoutes()))
    })
    .decorate('realtime', realtime)
    .use(idempotency)
    .use(docsPlugin({ uiEnabled: settings.DOCS_ENABLED }))
    .use(systemRoutes({ ...deps, metrics: settings.METRICS_PORT ? undefined : metrics }))
    .group(API_PREFIX, (api) =>
      api
        .use(identityModule({ ...mod, rateLimitStore: limits, jwt }))
        .use(projectsModule(mod))
        .use(taskRoutes(mod))
        .use(commentRoutes(mod))
        .use(attachmentRoutes(mod))
        .use(activityRoutes(mod))
        .use(dashboardRoutes(mod))
        .use(reportRoutes(mod))
        .use(jobRoutes(mod))
        .use(webhookRoutes({ ...mod, webhookResolve: deps.resolve }))
        .use(backupRoutes(mod))
        .use(realtimeRoutes(mod, realtime, authenticate, spend)),
    )
  listRoutes = () => app.routes as RouteInfo[]
  return app
}

export type App = ReturnType<typeof createApp>
