import { describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { memoryLogger } from '../../src/lib/logger'
import { allowedMethods, httpPlugin } from '../../src/plugins/http'
import { createTestApp, expectProblem } from '../helpers/app'

const allowOf = (h: Headers) =>
  (h.get('allow') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .sort()

/** Issue 7 #10: a known path with an unsupported method is a 405 with Allow, not a 404. */
describe('405 method_not_allowed', () => {
  test('a known path with another method: 405 problem+json with Allow listing its methods', async () => {
    const ctx = await createTestApp()
    const id = '01900000-0000-7000-8000-000000000000'
    const put = await ctx.req('PUT', `/api/v1/tasks/${id}`, { headers: { 'x-request-id': 'req-405' } })
    const body = expectProblem(put, 405, 'method_not_allowed')
    expect(body.detail).toContain('PUT')
    expect(put.body.request_id).toBe('req-405')
    // OPTIONS: the CORS preflight answers every path
    expect(allowOf(put.headers)).toEqual(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH'])
    // the same security headers as every other response
    expect(put.headers.get('x-content-type-options')).toBe('nosniff')
    expect(put.headers.get('x-request-id')).toBe('req-405')

    const health = await ctx.req('POST', '/health')
    expectProblem(health, 405, 'method_not_allowed')
    expect(allowOf(health.headers)).toEqual(['GET', 'HEAD', 'OPTIONS'])

    // a literal route next to a parameterised one: /users/me has its own methods
    const me = await ctx.req('PUT', '/api/v1/users/me')
    expectProblem(me, 405, 'method_not_allowed')
    expect(allowOf(me.headers)).toContain('PATCH')
    expect(allowOf(me.headers)).toContain('GET')
  })

  test('a browser may read Allow: CORS exposes it with the 405', async () => {
    const ctx = await createTestApp({ env: { CORS_ORIGINS: 'https://app.example' } })
    const res = await ctx.req('POST', '/health', { headers: { origin: 'https://app.example' } })
    expectProblem(res, 405, 'method_not_allowed')
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example')
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').split(',').map((s) => s.trim())
    expect(exposed).toContain('Allow')
  })

  test('an unknown path is still a 404; a known method on a known path is untouched', async () => {
    const ctx = await createTestApp()
    const nope = await ctx.req('PUT', '/api/v1/no-such-thing')
    expectProblem(nope, 404, 'not_found')
    expect(nope.headers.get('allow')).toBeNull()
    expectProblem(await ctx.req('GET', '/api/v1/tasks/x/y/z'), 404, 'not_found')
    expect((await ctx.req('GET', '/health')).status).toBe(200)
  })

  test('allowedMethods matches route patterns segment by segment, ignores catch-alls, adds HEAD to GET', () => {
    const routes = [
      { method: 'GET', path: '/a/:id' },
      { method: 'PATCH', path: '/a/:id' },
      { method: 'POST', path: '/a' },
      { method: 'OPTIONS', path: '/*' },
      { method: 'GET', path: '/files/*' },
    ]
    expect(allowedMethods(routes, '/a/1')).toEqual(['GET', 'HEAD', 'OPTIONS', 'PATCH'])
    expect(allowedMethods(routes, '/a')).toEqual(['OPTIONS', 'POST'])
    expect(allowedMethods(routes, '/a/1/2')).toEqual([])
    expect(allowedMethods(routes, '/files/x/y')).toEqual([])
    expect(allowedMethods(routes, '/a/1/')).toEqual(['GET', 'HEAD', 'OPTIONS', 'PATCH'])
  })

  test('the plugin alone (no CORS) answers 405 too', async () => {
    const log = memoryLogger()
    const app = new Elysia()
      .use(
        httpPlugin({
          settings: { MAX_BODY_BYTES: 1024, MAX_UPLOAD_BYTES: 1024, ENVIRONMENT: 'test' },
          logger: log.logger,
        }),
      )
      .get('/only-get', () => 'ok')
    const res = await app.handle(new Request('http://localhost/only-get', { method: 'DELETE' }))
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET, HEAD')
    expect(res.headers.get('content-type')).toStartWith('application/problem+json')
  })
})
