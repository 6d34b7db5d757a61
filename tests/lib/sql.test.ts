import { expect, test } from 'bun:test'
import { likePattern } from '../../src/lib/sql'

test('likePattern escapes %, _ and backslashes and matches anywhere', () => {
  expect(likePattern('50%_\\')).toBe('%50\\%\\_\\\\%')
  expect(likePattern('plain')).toBe('%plain%')
})
