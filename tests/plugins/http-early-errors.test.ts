import { describe, expect, test } from 'bun:test'
import { createTestApp, createUser, expectProblem, type TestResponse } from '../helpers/app'

const ORIGIN = 'https://app.example'

/**
 * Issue 7 #8: errors decided before routing (413, 415, NUL/surrogate 400) carry the same CORS and
 * security headers as every other response, so a browser can read them.
 */
describe('early errors carry CORS and security headers', () => {
  const expectHeaders = (res: TestResponse, requestId: string) => {
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(res.headers.get('vary')).toContain('Origin')
    expect(res.headers.get('access-control-expose-headers')).toContain('X-Request-ID')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(res.headers.get('x-request-id')).toBe(requestId)
    expect(res.body.request_id).toBe(requestId)
  }

  test('413, 415 and the NUL/surrogate 400s, on known and unknown routes, with and without a token', async () => {
    const ctx = await createTestApp({ env: { CORS_ORIGINS: ORIGIN, MAX_BODY_BYTES: '1024' } })
    const me = await createUser(ctx)
    const cases: [string, string, Record<string, string>, string | undefined, number, string][] = [
      [
        'POST',
        '/api/v1/projects',
        { 'content-type': 'application/json', 'content-length': '5000' },
        'x'.repeat(5000),
        413,
        'payload_too_large',
      ],
      ['POST', '/api/v1/projects', { 'content-type': 'text/plain' }, 'hello', 415, 'unsupported_media_type'],
      ['GET', '/api/v1/projects?search=a%00b', {}, undefined, 400, 'bad_request'],
      [
        'POST',
        '/api/v1/projects',
        { 'content-type': 'application/json' },
        '{"name":"a\\u0000b"}',
        400,
        'bad_request',
      ],
      [
        'POST',
        '/api/v1/projects',
        { 'content-type': 'application/json' },
        '{"name":"a\\ud800b"}',
        400,
        'bad_request',
      ],
      ['POST', '/api/v1/no-such-route', { 'content-type': 'text/plain' }, 'x', 415, 'unsupported_media_type'],
      ['GET', '/nowhere?q=%00', {}, undefined, 400, 'bad_request'],
    ]
    let n = 0
    for (const [method, path, headers, body, status, code] of cases)
      for (const token of [undefined, me.token]) {
        const requestId = `early-${++n}`
        const res = await ctx.req(method, path, {
          token,
          body,
          raw: true,
          headers: { origin: ORIGIN, 'x-request-id': requestId, ...headers },
        })
        try {
          expectProblem(res, status, code)
          expectHeaders(res, requestId)
        } catch (e) {
          throw new Error(`${method} ${path} (token: ${Boolean(token)}): ${(e as Error).message}`)
        }
      }
    // nothing was created by any of them
    const mine = await ctx.req('GET', '/api/v1/projects', { token: me.token })
    expect(mine.body.total).toBe(0)
  })

  test('a refused request never reaches the handler or the body reader', async () => {
    const ctx = await createTestApp({ env: { CORS_ORIGINS: ORIGIN, MAX_BODY_BYTES: '1024' } })
    const me = await createUser(ctx)
    let pulled = 0
    const stream = new ReadableStream(
      {
        pull(c) {
          pulled++
          c.enqueue(new TextEncoder().encode('{"name":"x"}'))
          c.close()
        },
      },
      { highWaterMark: 0 },
    ) // pulled only when someone reads
    const res = await ctx.app.handle(
      new Request('http://localhost/api/v1/projects', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${me.token}`,
          'content-type': 'application/json',
          'content-length': '999999',
          origin: ORIGIN,
        },
        body: stream,
      }),
    )
    expect(res.status).toBe(413)
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(pulled).toBe(0)
  })
})
