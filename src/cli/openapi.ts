import { createApp } from '../app'
import type { Database } from '../db/client'
import { createLogger } from '../lib/logger'
import { type CliIO, settingsOrExit } from './common'

/**
 * Building the routes runs no query: this stand-in lets modules hold references to `db` while
 * refusing any actual call, so printing the document opens and locks nothing.
 */
export function inert(path: string): never {
  const refuse = () => {
    throw new Error(`the openapi command has no database (called ${path})`)
  }
  return new Proxy(refuse, {
    get: (_t, prop) => (prop === 'then' ? undefined : inert(`${path}.${String(prop)}`)),
  }) as never
}
const noDatabase: Database = inert('database')

export async function openapiCommand(io: CliIO): Promise<number> {
  const settings = { ...settingsOrExit(io, { persistSecret: false }), DOCS_ENABLED: false }
  const app = createApp({ settings, database: noDatabase, logger: createLogger('error') })
  const res = await app.handle(new Request('http://localhost/openapi.json'))
  io.stdout(`${JSON.stringify(await res.json(), null, 2)}\n`)
  return res.ok ? 0 : 1
}
