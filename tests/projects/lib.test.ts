import { describe, expect, test } from 'bun:test'
import { checkIfMatch, etagOf, parseIfMatch } from '../../src/lib/etag'
import { isUniqueViolation, pgConstraint, pgErrorCode } from '../../src/lib/pg-errors'
import { likePattern } from '../../src/lib/sql'
import { slugify } from '../../src/modules/projects/service'
import { isRealDate } from '../../src/modules/tasks/query'

describe('etag', () => {
  test('formats and parses If-Match', () => {
    expect(etagOf(3)).toBe('"3"')
    expect(parseIfMatch(undefined)).toBeNull()
    expect(parseIfMatch('')).toBeNull()
    expect(parseIfMatch('*')).toBeNull()
    expect(parseIfMatch('"3"')).toEqual([3])
    expect(parseIfMatch('3')).toEqual([3])
    expect(parseIfMatch('W/"3"')).toEqual([3])
    expect(parseIfMatch('"1", W/"4"')).toEqual([1, 4])
    expect(parseIfMatch('"abc"')).toEqual([])
    expect(() => checkIfMatch('"2"', 3)).toThrow()
    expect(() => checkIfMatch('"3"', 3)).not.toThrow()
    expect(() => checkIfMatch(null, 3)).not.toThrow()
  })
})

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

describe('text helpers', () => {
  test('slugify, like patterns, real dates', () => {
    expect(slugify('My Project!')).toBe('my-project')
    expect(slugify('Crème brûlée')).toBe('creme-brulee')
    expect(slugify('日本')).toBe('project')
    expect(slugify(`${'a'.repeat(59)} b`)).toBe('a'.repeat(59))
    expect(likePattern('50%_\\')).toBe('%50\\%\\_\\\\%')
    expect(isRealDate('2024-02-29')).toBe(true)
    expect(isRealDate('2026-02-29')).toBe(false)
    expect(isRealDate('2026-04-31')).toBe(false)
    expect(isRealDate('20260101')).toBe(false)
  })
})
