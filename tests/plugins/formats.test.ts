import { expect, test } from 'bun:test'

test('uuid and email formats use fast checkers, not the Zod-backed ones @elysiajs/openapi installs', async () => {
  await import('../../src/plugins/docs')
  const { FormatRegistry } = await import('@sinclair/typebox')
  const uuid = FormatRegistry.Get('uuid')!
  expect(uuid('01939a4e-5b6c-7d8e-9f00-112233445566')).toBe(true)
  expect(uuid('not-a-uuid')).toBe(false)
  expect(FormatRegistry.Get('email')!('a@b.co')).toBe(true)
  expect(FormatRegistry.Get('date-time')!('2026-11-22T10:15:00.000Z')).toBe(true)
  expect(uuid.toString()).not.toContain('string3')
})

test('date-time is RFC 3339', async () => {
  await import('../../src/plugins/docs')
  const { FormatRegistry } = await import('@sinclair/typebox')
  const dt = FormatRegistry.Get('date-time')!
  for (const ok of ['2026-11-22T10:15:00.000Z', '2026-11-22T10:15:00+01:00', '2026-11-22t10:15:00z'])
    expect(dt(ok)).toBe(true)
  for (const bad of [
    '2026-11-22',
    '2026-13-01T00:00:00Z',
    '2026-11-22T24:00:00Z',
    '2026-11-22T10:15:00',
    'x2026-11-22T10:15:00Z',
  ])
    expect(dt(bad)).toBe(false)
})
