import { expect, test } from 'bun:test'
import { slugify } from '../../../src/modules/projects/service'

test('slugify: lower-case ASCII words joined by -, accents folded, at most 59 characters', () => {
  expect(slugify('My Project!')).toBe('my-project')
  expect(slugify('Crème brûlée')).toBe('creme-brulee')
  expect(slugify('日本')).toBe('project')
  expect(slugify(`${'a'.repeat(59)} b`)).toBe('a'.repeat(59))
})
