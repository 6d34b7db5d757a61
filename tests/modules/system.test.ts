import { describe, expect, test } from 'bun:test'
import { createApp } from '../../src/app'
import { memoryLogger } from '../../src/lib/logger'
import { VERSION } from '../../src/lib/version'
import { addErrorResponses } from '../../src/plugins/openapi-errors'
import { createTestApp, expectProblem, testSettings } from '../helpers/app'

describe('/health and /ready', () => {
  test('/health answers ok with the version', async () => {
    const { req } = await createTestApp()
    const res = await req('GET', '/health')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ status: 'ok', version: VERSION })
  })

  test('/ready is 200 with a reachable, migrated database', async () => {
    const { req } = await createTestApp()
    const res = await req('GET', '/ready')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ status: 'ready' })
  })

  test('/ready is 503 while shutting down', async () => {
    const { req, deps } = await createTestApp()
    deps.lifecycle!.shuttingDown = true
    expectProblem(await req('GET', '/ready'), 503, 'unavailable')
  })

  test('/ready is 503 when the database is unreachable, and says nothing about why', async () => {
    const ctx = await createTestApp()
    const log = memoryLogger()
    const broken = {
      ...ctx.database,
      ping: () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.9:5432')),
    }
    const app = createApp({ settings: testSettings(), database: broken, logger: log.logger })
    const res = await app.handle(new Request('http://localhost/ready'))
    expect(res.status).toBe(503)
    expect(res.headers.get('content-type')).toStartWith('application/problem+json')
    expect(await res.text()).not.toContain('10.0.0.9')
    expect(log.lines.join('\n')).toContain('ECONNREFUSED')
  })
})

describe('/openapi.json', () => {
  test('is OpenAPI 3.1 with the bearer scheme, tags, and problem+json error responses', async () => {
    const { req } = await createTestApp()
    const res = await req('GET', '/openapi.json')
    expect(res.status).toBe(200)
    const doc = res.body
    expect(doc.openapi).toStartWith('3.1')
    expect(doc.info.title).toBe('Taskbase API')
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(doc.components.schemas.Problem.required).toContain('request_id')
    expect(doc.tags.map((t: { name: string }) => t.name)).toContain('Operations')
    expect(doc.paths['/health'].get.responses['500']).toEqual({
      $ref: '#/components/responses/InternalError',
    })
    expect(doc.paths['/docs']).toBeUndefined()
  })

  test('addErrorResponses adds auth, not-found and write errors where they apply', () => {
    const doc = addErrorResponses({
      paths: {
        '/things/{id}': {
          patch: { security: [{ bearerAuth: [] }], responses: { '200': {} } },
          get: { responses: { '200': {} } },
        },
        '/things': { post: { responses: { '201': {} } } },
      },
    })
    const patch = doc.paths['/things/{id}']!.patch!.responses as Record<string, unknown>
    // secured: 401/403, and 429 from the per-caller limit every authenticated request spends from
    expect(Object.keys(patch).sort()).toEqual([
      '200',
      '400',
      '401',
      '403',
      '404',
      '413',
      '415',
      '422',
      '429',
      '500',
    ])
    const get = doc.paths['/things/{id}']!.get!.responses as Record<string, unknown>
    expect(Object.keys(get).sort()).toEqual(['200', '400', '404', '500'])
    const post = doc.paths['/things']!.post!.responses as Record<string, unknown>
    // 412 only where the handler reads If-Match (the table in openapi-errors.ts), never by rule
    expect(post['412']).toBeUndefined()
    expect(post['415']).toBeDefined()
  })
})

describe('/docs', () => {
  test('serves Swagger UI whose assets come from the binary, not a CDN', async () => {
    const { req } = await createTestApp()
    const page = await req('GET', '/docs')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toContain('text/html')
    expect(page.text).toContain('/docs/assets/swagger-ui-bundle.js'.replace('-bundle', ''))
    expect(page.text).not.toMatch(/https?:\/\/(unpkg|cdn\.jsdelivr)/)
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    const js = await req('GET', '/docs/assets/swagger-ui.js')
    expect(js.status).toBe(200)
    expect(js.text.length).toBeGreaterThan(500_000)
    const css = await req('GET', '/docs/assets/swagger-ui.css')
    expect(css.status).toBe(200)
    expect(css.text).toContain('.swagger-ui')
  })

  test('is off when DOCS_ENABLED=false, while /openapi.json stays', async () => {
    const { req } = await createTestApp({ env: { DOCS_ENABLED: 'false' } })
    expectProblem(await req('GET', '/docs'), 404)
    expect((await req('GET', '/openapi.json')).status).toBe(200)
  })
})
