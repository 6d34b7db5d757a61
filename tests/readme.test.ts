import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { configTable } from '../scripts/config-table'
import { errorTable } from '../scripts/error-table'
import { commands } from '../src/cli'

const readme = readFileSync(join(import.meta.dir, '../README.md'), 'utf8')

test('the README configuration table matches the settings schema (bun scripts/config-table.ts)', () => {
  expect(readme).toContain(configTable())
})

test('the README documents every CLI command', () => {
  for (const name of Object.keys(commands)) expect(readme).toContain(`taskbase ${name}`)
})

test('the README error table is the closed set of codes (bun scripts/error-table.ts)', () => {
  expect(readme).toContain(errorTable())
})
