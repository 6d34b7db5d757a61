import { describe, expect, test } from 'bun:test'
import { checkIfMatch, etagOf, parseIfMatch } from '../../src/lib/etag'

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

describe('If-Match', () => {
  test('If-Match parsing', () => {
    expect(parseIfMatch(undefined)).toBeNull()
    expect(parseIfMatch('*')).toBeNull()
    expect(parseIfMatch('"3", W/"4"')).toEqual([3, 4])
    expect(parseIfMatch('nope')).toEqual([])
  })
})
