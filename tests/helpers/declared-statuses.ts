import { recordedStatuses, undeclaredStatuses } from './status-recorder'

/** The served OpenAPI document, built the way `taskbase openapi` builds it (no database). */
export async function servedDocument(): Promise<Record<string, any>> {
  const { createApp } = await import('../../src/app')
  const { inert } = await import('../../src/cli/openapi')
  const { createLogger } = await import('../../src/lib/logger')
  const { testSettings } = await import('./app')
  const app = createApp({
    settings: { ...testSettings(), DOCS_ENABLED: false },
    database: inert('database'),
    logger: createLogger('error'),
  })
  const res = await app.handle(new Request('http://localhost/openapi.json'))
  return res.json() as Promise<Record<string, any>>
}

/** Throws, listing them, when the request helper saw a status its operation does not declare. */
export async function checkRecordedStatuses(): Promise<void> {
  const seen = recordedStatuses()
  if (!seen.length) return
  const undeclared = undeclaredStatuses(await servedDocument(), seen)
  if (undeclared.length)
    throw new Error(
      `The tests saw ${undeclared.length} status(es) the OpenAPI document does not declare (declare them in src/plugins/openapi-errors.ts):\n  ${undeclared.join('\n  ')}`,
    )
}
