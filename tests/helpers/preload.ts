import { beforeAll } from 'bun:test'
import { testDatabase } from './db'

process.env.TZ = 'UTC'
// Create and migrate the shared test database once, before any file runs (PGlite init takes seconds).
beforeAll(async () => {
  await testDatabase()
}, 60_000)
