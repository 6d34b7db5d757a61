import { describe, expect, test } from 'bun:test'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { createTestApp, createUser } from '../helpers/app'
import { makeProject } from '../helpers/projects-fixtures'

/** Issue 13 #1: Prometheus metrics, checked with a real text-format parser. */
type Family = {
  name: string
  type: string
  metrics: { labels?: Record<string, string>; value?: string; count?: string }[]
}
const scrape = async (ctx: Awaited<ReturnType<typeof createTestApp>>) => {
  const res = await ctx.req('GET', '/metrics')
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4')
  return {
    text: res.text,
    families: new Map((parsePrometheusTextFormat(res.text) as Family[]).map((f) => [f.name, f])),
  }
}

describe('/metrics', () => {
  test('requests by route template (never the raw path), method and status, with latency; jobs; process', async () => {
    const ctx = await createTestApp({ env: { METRICS_ENABLED: 'true' } })
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    for (let i = 0; i < 3; i++) await ctx.req('GET', `/api/v1/projects/${p.id}`, { token: me.token })
    await ctx.req('GET', '/api/v1/projects/01900000-0000-7000-8000-000000000000', { token: me.token })
    await ctx.req('GET', `/api/v1/no/such/${Bun.randomUUIDv7()}`)
    // the after-response hook runs once the answer is out
    await Bun.sleep(20)
    const { text, families: m } = await scrape(ctx)

    const requests = m.get('taskbase_http_requests_total')!
    expect(requests.type).toBe('COUNTER')
    const series = (labels: Record<string, string>) =>
      requests.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v))
    expect(series({ method: 'GET', route: '/api/v1/projects/:id', status: '200' })?.value).toBe('3')
    expect(series({ method: 'GET', route: '/api/v1/projects/:id', status: '404' })?.value).toBe('1')
    expect(series({ method: 'GET', route: '(unmatched)', status: '404' })?.value).toBe('1')
    // no series carries an id or a raw path
    for (const s of requests.metrics) expect(s.labels?.route ?? '').not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}/)

    expect(m.get('taskbase_http_request_duration_seconds')!.type).toBe('HISTOGRAM')
    // (the parser keeps only the buckets of a histogram: read its count from the text)
    expect(text).toContain(
      'taskbase_http_request_duration_seconds_count{method="GET",route="/api/v1/projects/:id"} 4',
    )

    expect(m.get('taskbase_jobs')?.type).toBe('GAUGE')
    expect(m.get('taskbase_jobs_oldest_queued_age_seconds')?.type).toBe('GAUGE')
    expect(m.get('taskbase_rate_limit_fallbacks_total')?.type).toBe('COUNTER')
    expect(m.get('taskbase_http_requests_in_flight')?.type).toBe('GAUGE')
    // the pool: its size from DB_POOL_MAX (PGlite: 1), and nothing in use between requests
    const gauge = (name: string) => Number(m.get(name)?.metrics[0]?.value)
    expect(gauge('taskbase_db_pool_size')).toBe(ctx.database.kind === 'pglite' ? 1 : 10)
    expect(gauge('taskbase_db_pool_in_use')).toBe(0)
    expect(gauge('taskbase_db_pool_waiting')).toBe(0)
    expect(Number(m.get('process_resident_memory_bytes')!.metrics[0]!.value)).toBeGreaterThan(0)
    expect(m.has('nodejs_eventloop_lag_seconds')).toBe(true)
  })

  test('off by default, and never in the API document', async () => {
    const off = await createTestApp()
    expect((await off.req('GET', '/metrics')).status).toBe(404)
    const on = await createTestApp({ env: { METRICS_ENABLED: 'true' } })
    const doc = await on.req('GET', '/openapi.json')
    expect(Object.keys(doc.body.paths)).not.toContain('/metrics')
  })

  test('with METRICS_PORT the API port does not serve it', async () => {
    const ctx = await createTestApp({ env: { METRICS_ENABLED: 'true', METRICS_PORT: '9464' } })
    expect((await ctx.req('GET', '/metrics')).status).toBe(404)
  })
})
