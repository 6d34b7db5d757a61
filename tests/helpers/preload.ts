import { afterAll, beforeAll } from 'bun:test'
import { testDatabase } from './db'
import { checkRecordedStatuses } from './declared-statuses'

process.env.TZ = 'UTC'
// Create and migrate the shared test database once, before any file runs (PGlite init takes seconds).
beforeAll(async () => {
  await testDatabase()
}, 60_000)

// After the last file: every status the request helper saw must be declared by its operation in the
// OpenAPI document (issue 7 #13). Fails the run, naming each undeclared (method, route, status).
afterAll(async () => {
  await checkRecordedStatuses()
}, 60_000)
