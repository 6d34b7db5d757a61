import { describe, expect, test } from 'bun:test'
import { limitClass } from '../../src/lib/api-limits'
import { createTestApp, createUser, expectProblem } from '../helpers/app'
import { makeProject } from '../helpers/projects-fixtures'

/** Issue 13 #2: the general per-caller limit on authenticated requests, with IETF headers. */
const limited = (env: Record<string, string>) =>
  createTestApp({ env: { CORS_ORIGINS: 'https://app.example', ...env } })

describe('per-caller limits on authenticated requests', () => {
  test('reads: every answer carries RateLimit-Policy and RateLimit; past the quota a 429 with Retry-After', async () => {
    const ctx = await limited({ RATE_LIMIT_READS_PER_MINUTE: '3' })
    const me = await createUser(ctx)
    for (const remaining of [2, 1, 0]) {
      const res = await ctx.req('GET', '/api/v1/users/me', { token: me.token })
      expect(res.status).toBe(200)
      expect(res.headers.get('ratelimit-policy')).toBe('"reads";q=3;w=60')
      expect(res.headers.get('ratelimit')).toMatch(
        new RegExp(`^"reads";r=${remaining};t=([1-9]|[1-5][0-9]|60)$`),
      )
    }
    const over = await ctx.req('GET', '/api/v1/users/me', {
      token: me.token,
      headers: { origin: 'https://app.example' },
    })
    expectProblem(over, 429, 'rate_limited')
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(over.headers.get('ratelimit')).toMatch(/^"reads";r=0;t=\d+$/)
    expect(over.headers.get('ratelimit-policy')).toBe('"reads";q=3;w=60')
    // a browser may read them
    const exposed = (over.headers.get('access-control-expose-headers') ?? '').split(',').map((h) => h.trim())
    expect(exposed).toEqual(expect.arrayContaining(['RateLimit', 'RateLimit-Policy', 'Retry-After']))
    // counted before validation: a hostile caller cannot make the server work past its quota
    expectProblem(await ctx.req('GET', '/api/v1/projects?page=abc', { token: me.token }), 429, 'rate_limited')
  })

  test('writes and exports have budgets of their own; another user is not affected', async () => {
    const ctx = await limited({
      RATE_LIMIT_READS_PER_MINUTE: '1',
      RATE_LIMIT_WRITES_PER_MINUTE: '2',
      RATE_LIMIT_EXPORTS_PER_MINUTE: '1',
    })
    const me = await createUser(ctx)
    const other = await createUser(ctx)
    expect((await ctx.req('GET', '/api/v1/users/me', { token: me.token })).status).toBe(200)
    expectProblem(await ctx.req('GET', '/api/v1/users/me', { token: me.token }), 429)
    const p = await ctx.req('POST', '/api/v1/projects', { token: me.token, body: { name: 'Limits' } })
    expect(p.status).toBe(201)
    expect(p.headers.get('ratelimit')).toMatch(/^"writes";r=1;/)
    const exp = await ctx.req('GET', `/api/v1/projects/${p.body.id}/tasks/export`, { token: me.token })
    expect(exp.status).toBe(200)
    expect(exp.headers.get('ratelimit-policy')).toBe('"exports";q=1;w=60')
    expectProblem(
      await ctx.req('GET', `/api/v1/projects/${p.body.id}/tasks/export`, { token: me.token }),
      429,
    )
    expect((await ctx.req('GET', '/api/v1/users/me', { token: other.token })).status).toBe(200)
  })

  test('an API token has its own budget, apart from its user’s sessions', async () => {
    const ctx = await limited({ RATE_LIMIT_READS_PER_MINUTE: '1' })
    const me = await createUser(ctx)
    const made = await ctx.req('POST', '/api/v1/users/me/tokens', {
      token: me.token,
      body: { name: 'ci', scope: 'read' },
    })
    expect(made.status).toBe(201)
    expect((await ctx.req('GET', '/api/v1/users/me', { token: me.token })).status).toBe(200)
    expectProblem(await ctx.req('GET', '/api/v1/users/me', { token: me.token }), 429)
    expect((await ctx.req('GET', '/api/v1/users/me', { token: made.body.token })).status).toBe(200)
    expectProblem(await ctx.req('GET', '/api/v1/users/me', { token: made.body.token }), 429)
  })

  test('0 turns a class off: no headers, no limit; anonymous routes are not counted', async () => {
    const ctx = await limited({ RATE_LIMIT_READS_PER_MINUTE: '0' })
    const me = await createUser(ctx)
    await makeProject(ctx, me)
    for (let i = 0; i < 5; i++) {
      const res = await ctx.req('GET', '/api/v1/users/me', { token: me.token })
      expect(res.status).toBe(200)
      expect(res.headers.get('ratelimit')).toBeNull()
    }
    expect((await ctx.req('GET', '/health')).headers.get('ratelimit')).toBeNull()
  })

  test('limitClass: exports by path, reads by method, the rest writes', () => {
    expect(limitClass('GET', '/api/v1/projects/x/tasks/export')).toBe('exports')
    expect(limitClass('GET', '/api/v1/tasks/x')).toBe('reads')
    expect(limitClass('HEAD', '/api/v1/tasks/x')).toBe('reads')
    expect(limitClass('DELETE', '/api/v1/tasks/x')).toBe('writes')
  })
})
