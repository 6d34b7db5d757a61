import { describe, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { isUniqueViolation, pgConstraint, pgErrorCode, uniqueViolation } from '../../src/lib/pg-errors'
import { createTestApp, createUser } from '../helpers/app'

describe('pg errors', () => {
  test('reads code and constraint from both drivers and through Drizzle wrappers', () => {
    const postgresJs = { code: '23505', constraint_name: 'projects_slug_key' }
    const pglite = { code: '23505', constraint: 'projects_slug_key' }
    const wrapped = new Error('Failed query', { cause: pglite })
    for (const e of [postgresJs, pglite, wrapped]) {
      expect(isUniqueViolation(e)).toBe(true)
      expect(isUniqueViolation(e, 'projects_slug_key')).toBe(true)
      expect(isUniqueViolation(e, 'other')).toBe(false)
      expect(pgConstraint(e)).toBe('projects_slug_key')
    }
    expect(pgErrorCode(new Error('x'))).toBeNull()
    expect(pgErrorCode({ code: 'ECONNRESET' })).toBeNull()
    expect(isUniqueViolation({ code: '23503' })).toBe(false)
    expect(pgConstraint({ code: '23503' })).toBeNull()
    expect(isUniqueViolation(null)).toBe(false)
  })
})

describe('uniqueViolation', () => {
  test('uniqueViolation finds SQLSTATE 23505 through Drizzle wrappers on both drivers', async () => {
    const ctx = await createTestApp()
    const u = await createUser(ctx)
    const err = await ctx.database
      .rows(
        sql`insert into users (id, email, username, password_hash) values (${Bun.randomUUIDv7()}, ${u.email.toUpperCase()}, 'zz-unique-x', 'h')`,
      )
      .catch((e) => e)
    expect(uniqueViolation(err)).toBe('users_email_lower_key')
    expect(uniqueViolation(new Error('other'))).toBeNull()
    expect(uniqueViolation({ code: '23505' })).toBe('unique')
  })
})
