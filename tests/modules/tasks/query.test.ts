import { expect, test } from 'bun:test'
import { isRealDate } from '../../../src/modules/tasks/query'

test('isRealDate accepts only calendar dates written YYYY-MM-DD', () => {
  expect(isRealDate('2024-02-29')).toBe(true)
  expect(isRealDate('2026-02-29')).toBe(false)
  expect(isRealDate('2026-04-31')).toBe(false)
  expect(isRealDate('20260101')).toBe(false)
})
