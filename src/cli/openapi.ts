import { createApp } from '../app'
import type { Database } from '../db/client'
import { createLogger } from '../lib/logger'
import { type CliIO, settingsOrExit } from './common'

/** Building the routes touches no database; this one refuses any use, so nothing is opened or locked. */
const noDatabase = new Proxy({} as Database, {
  get(_t, prop) {
    if (prop === 'then') return undefined
    throw new Error(`the openapi command has no database (tried to use ${String(prop)})`)
  },
})

export async function openapiCommand(io: CliIO): Promise<number> {
  const settings = { ...settingsOrExit(io, { persistSecret: false }), DOCS_ENABLED: false }
  const app = createApp({ settings, database: noDatabase, logger: createLogger('error') })
  const res = await app.handle(new Request('http://localhost/openapi.json'))
  io.stdout(`${JSON.stringify(await res.json(), null, 2)}\n`)
  return res.ok ? 0 : 1
}
