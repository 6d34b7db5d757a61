import { expect, test } from 'bun:test'
import { inert } from '../../src/cli/openapi'

test('the openapi stand-in database refuses any call', () => {
  const db = inert('database') as unknown as { db: { select: () => unknown } }
  expect(() => db.db.select()).toThrow('the openapi command has no database (called database.db.select)')
})
