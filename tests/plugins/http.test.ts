import { describe, expect, test } from 'bun:test'
import { Elysia, t } from 'elysia'
import { memoryLogger } from '../../src/lib/logger'
import { httpPlugin } from '../../src/plugins/http'
import { createTestApp, expectProblem } from '../helpers/app'

/** The real HTTP plugin around a few routes that fail in the ways real handlers can. */
function probeApp(maxBody = 1024) {
  const log = memoryLogger()
  const app = new Elysia({ normalize: false })
    .use(
      httpPlugin({
        settings: { MAX_BODY_BYTES: maxBody, MAX_UPLOAD_BYTES: maxBody, ENVIRONMENT: 'test' },
        logger: log.logger,
      }),
    )
    .post('/echo', ({ body }) => body, {
      body: t.Object(
        { name: t.String({ minLength: 1 }), n: t.Optional(t.Integer()) },
        { additionalProperties: false },
      ),
    })
    .get('/boom', () => {
      throw new Error('password=hunter2 at db.internal:5432')
    })
    .get('/items/:id', ({ params }) => params, { params: t.Object({ id: t.String({ format: 'uuid' }) }) })
  const call = async (path: string, init?: RequestInit) => {
    const res = await app.handle(new Request(`http://localhost${path}`, init))
    const text = await res.text()
    return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined }
  }
  return { app, call, log }
}

const json = { 'content-type': 'application/json' }

describe('request id', () => {
  test('echoes a sane X-Request-ID and generates one otherwise', async () => {
    const { call } = probeApp()
    const echoed = await call('/echo', {
      method: 'POST',
      headers: { ...json, 'x-request-id': 'abc.DEF_1-2' },
      body: '{"name":"a"}',
    })
    expect(echoed.headers.get('x-request-id')).toBe('abc.DEF_1-2')
    for (const bad of ['has space', 'x'.repeat(129), 'semi;colon']) {
      const res = await call('/nope', { headers: { 'x-request-id': bad } })
      expect(res.headers.get('x-request-id')).not.toBe(bad)
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
      expect(res.body.request_id).toBe(res.headers.get('x-request-id'))
    }
  })
})

describe('problem+json for every error', () => {
  test('unknown route is a 404 problem', async () => {
    const { call } = probeApp()
    const res = await call('/nowhere')
    expectProblem(res as never, 404, 'not_found')
    expect(res.body).toMatchObject({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      instance: '/nowhere',
    })
  })

  test('malformed JSON is a 400 malformed_json', async () => {
    const { call } = probeApp()
    expectProblem(
      (await call('/echo', { method: 'POST', headers: json, body: '{"name":' })) as never,
      400,
      'malformed_json',
    )
  })

  test('wrong or missing content type is a 415', async () => {
    const { call } = probeApp()
    expectProblem(
      (await call('/echo', {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'name=a',
      })) as never,
      415,
      'unsupported_media_type',
    )
    expectProblem((await call('/echo', { method: 'POST', body: new Blob(['{"name":"a"}']) })) as never, 415)
  })

  test('application/merge-patch+json is parsed as JSON', async () => {
    const { call } = probeApp()
    const res = await call('/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: '{"name":"x"}',
    })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ name: 'x' })
  })

  test('a body over MAX_BODY_BYTES is a 413, by Content-Length or while streaming', async () => {
    const { call } = probeApp(100)
    const big = JSON.stringify({ name: 'x'.repeat(200) })
    const byLength = await call('/echo', {
      method: 'POST',
      headers: { ...json, 'content-length': String(big.length) },
      body: big,
    })
    expectProblem(byLength as never, 413, 'payload_too_large')
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big))
        c.close()
      },
    })
    expectProblem(
      (await call('/echo', { method: 'POST', headers: json, body: stream })) as never,
      413,
      'payload_too_large',
    )
  })

  test('validation errors list each field once, unknown fields included', async () => {
    const { call } = probeApp()
    const res = await call('/echo', { method: 'POST', headers: json, body: '{"n":"x","owner_id":"1"}' })
    const p = expectProblem(res as never, 422, 'validation_failed')
    const fields = p.errors!.map((e) => e.field).sort()
    expect(fields).toEqual(['n', 'name', 'owner_id'])
    expect(p.errors!.find((e) => e.field === 'owner_id')!.message).toBe('is not an allowed field')
    expect(p.errors!.find((e) => e.field === 'name')!.message).toBe('is required')
  })

  test('a thrown exception is a 500 with no internals; the log has them under the request id', async () => {
    const { call, log } = probeApp()
    const res = await call('/boom')
    expectProblem(res as never, 500, 'internal_error')
    expect(res.text).not.toContain('hunter2')
    expect(res.text).not.toContain('db.internal')
    const entry = log.entries().find((e) => e.msg === 'unhandled error')
    expect(entry?.request_id).toBe(res.body.request_id)
    expect(JSON.stringify(entry)).toContain('hunter2')
  })

  test('a malformed id in the path is a 404', async () => {
    const { call } = probeApp()
    expectProblem((await call('/items/not-a-uuid')) as never, 404, 'not_found')
    expect((await call('/items/01939a4e-5b6c-7d8e-9f00-112233445566')).status).toBe(200)
  })
})

describe('access log', () => {
  test('one JSON line per request with method, route, status, duration and request id; never the token', async () => {
    const { call, log } = probeApp()
    await call('/items/01939a4e-5b6c-7d8e-9f00-112233445566', {
      headers: { authorization: 'Bearer sekret-token' },
    })
    await call('/nope')
    // the access log is written after the response is sent: wait for both lines (no fixed sleep)
    const requestLines = () => log.entries().filter((e) => e.msg === 'request')
    for (let i = 0; i < 500 && requestLines().length < 2; i++) await Bun.sleep(2)
    const lines = requestLines()
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatchObject({ method: 'GET', route: '/items/:id', status: 200 })
    expect(typeof lines[0]!.duration_ms).toBe('number')
    expect(lines[1]).toMatchObject({ status: 404 })
    expect(log.lines.join('\n')).not.toContain('sekret-token')
  })
})

describe('security headers and CORS on the real app', () => {
  test('API responses carry the security headers', async () => {
    const { req } = await createTestApp()
    const res = await req('GET', '/health')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
  })

  test('CORS answers only configured origins', async () => {
    const { req } = await createTestApp({ env: { CORS_ORIGINS: 'https://app.example' } })
    const ok = await req('OPTIONS', '/api/v1/projects', {
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    })
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example')
    const evil = await req('GET', '/health', { headers: { origin: 'https://evil.example' } })
    expect(evil.headers.get('access-control-allow-origin')).toBeNull()
  })

  test('no CORS_ORIGINS means no browser origin is allowed', async () => {
    const { req } = await createTestApp()
    const res = await req('GET', '/health', { headers: { origin: 'https://evil.example' } })
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('HSTS (issue 13 #5)', () => {
  test('sent on every answer when PUBLIC_URL is https, never over a plain-http deployment', async () => {
    const https = await createTestApp({ env: { PUBLIC_URL: 'https://tasks.example.com' } })
    for (const path of ['/health', '/api/v1/users/me', '/api/v1/nowhere']) {
      const res = await https.req('GET', path)
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains')
    }
    const plain = await createTestApp({ env: { PUBLIC_URL: 'http://localhost:8000' } })
    expect((await plain.req('GET', '/health')).headers.get('strict-transport-security')).toBeNull()
  })
})
