import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serveEmbedded } from '../helpers/serve'

const dir = mkdtempSync(join(tmpdir(), 'tb-serve-ops-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test('METRICS_PORT serves /metrics on a listener of its own, never on the API port', async () => {
  const probe = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
  const metricsPort = probe.port!
  probe.stop(true)
  const server = await serveEmbedded(dir, {
    JOBS_ENABLED: 'false',
    METRICS_ENABLED: 'true',
    METRICS_PORT: String(metricsPort),
  })
  try {
    expect(server.metricsUrl).toBe(`http://127.0.0.1:${metricsPort}/metrics`)
    expect((await fetch(`${server.url}/health`)).status).toBe(200)
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404)
    await Bun.sleep(20)
    const res = await fetch(server.metricsUrl!)
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(text).toContain('taskbase_http_requests_total{method="GET",route="/health",status="200"} 1')
    expect(text).toMatch(/taskbase_http_requests_in_flight \d+/)
    expect((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status).toBe(404)
  } finally {
    await server.shutdown('test')
  }
}, 30_000)

test('SHUTDOWN_DELAY_MS: after SIGTERM /ready is 503 at once while requests are still served, then the server stops', async () => {
  const server = await serveEmbedded(dir, { JOBS_ENABLED: 'false', SHUTDOWN_DELAY_MS: '600' })
  const stopping = server.shutdown('test')
  await Bun.sleep(50)
  expect((await fetch(`${server.url}/ready`)).status).toBe(503)
  expect((await fetch(`${server.url}/health`)).status).toBe(200)
  await stopping
  expect(
    await fetch(`${server.url}/health`).then(
      () => 'answered',
      () => 'refused',
    ),
  ).toBe('refused')
}, 30_000)
