import { Elysia, t } from 'elysia'
import { pendingMigrations } from '../../db/migrate'
import type { AppDeps } from '../../deps'
import { unavailable } from '../../lib/errors'
import { VERSION } from '../../lib/version'

/** Liveness (no I/O) and readiness (database reachable, migrations applied, not shutting down). */
export const systemRoutes = ({ database, lifecycle, logger, metrics }: AppDeps) => {
  let migrated = false
  const app = new Elysia({ name: 'system', detail: { tags: ['Operations'] } })
    .get('/health', () => ({ status: 'ok' as const, version: VERSION }), {
      response: t.Object({ status: t.Literal('ok'), version: t.String() }),
      detail: { summary: 'Liveness', description: 'Answers without touching the database.' },
    })
    .get(
      '/ready',
      async () => {
        if (lifecycle?.shuttingDown) throw unavailable('Shutting down')
        try {
          await database.ping()
        } catch (err) {
          logger.warn('readiness: database unreachable', { err: String(err) })
          throw unavailable('Database unreachable')
        }
        if (!migrated) {
          const pending = await pendingMigrations(database)
          if (pending.length) throw unavailable(`Migrations pending: ${pending.join(', ')}`)
          migrated = true
        }
        return { status: 'ready' as const }
      },
      {
        response: t.Object({ status: t.Literal('ready') }),
        detail: {
          summary: 'Readiness',
          description: '503 while the database is unreachable or migrations are pending.',
        },
      },
    )
  if (!metrics) return app
  // Prometheus text; not part of the API document (operators scrape it, clients never call it)
  return app.get('/metrics', () => metrics.response(), { detail: { hide: true } })
}
