import { expect, test } from 'bun:test'
import type { PGlite } from '@electric-sql/pglite'
import { sql } from 'drizzle-orm'
import { withoutQueryParsers } from '../../src/db/client'
import { testDatabase, usingPostgres } from '../helpers/db'

test('drizzle’s per-query parsers are dropped (the instance has them), other options pass through', async () => {
  const seen: unknown[] = []
  const fake = {
    query: async (_q: string, _p?: unknown[], opts?: unknown) => {
      seen.push(opts)
      return { rows: [] }
    },
    transaction: async (fn: (tx: unknown) => Promise<unknown>) => fn(fake),
    other: () => 'bound',
  }
  const client = withoutQueryParsers(fake as unknown as PGlite)
  const parsers = { 1184: (v: string) => v }
  await client.query('select 1', [], { rowMode: 'array', parsers })
  await client.query('select 1', [], { rowMode: 'object', parsers })
  await client.transaction(async (tx) => {
    await tx.query('select 1', [], { rowMode: 'array', parsers })
  })
  await client.query('select 1', [], { rowMode: 'array', parsers, paramTypes: [25] })
  await client.query('select 1')
  expect(seen).toEqual([
    { rowMode: 'array' },
    { rowMode: 'object' },
    { rowMode: 'array' },
    { rowMode: 'array', parsers, paramTypes: [25] },
    undefined,
  ])
  expect((client as unknown as typeof fake).other()).toBe('bound')
})

test('timestamps, dates and intervals still reach drizzle as PostgreSQL prints them', async () => {
  const database = await testDatabase()
  const [row] = await database.rows<{ t: string; d: string; i: string; ts: string[] }>(
    sql`select '2026-12-05 10:00:00.123456+00'::timestamptz as t, date '2026-12-05' as d,
      interval '1 day 02:00' as i, array['2026-12-05 10:00:00+00'::timestamptz] as ts`,
  )
  expect(typeof row!.t).toBe('string')
  expect(row!.t).toContain('.123456')
  expect(row!.d).toBe('2026-12-05')
  expect(row!.i).toBe('1 day 02:00:00')
  // arrays of them (no column has one) arrive as arrays of that text
  if (!usingPostgres()) expect(row!.ts).toEqual(['2026-12-05 10:00:00+00'])
})
