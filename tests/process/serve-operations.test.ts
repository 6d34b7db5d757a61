import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TEST_PASSWORD } from '../helpers/app'
import { Client } from '../helpers/realtime'
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

test('shutdown closes realtime sockets with 1001 "going away" after the delay, and refuses new upgrades meanwhile', async () => {
  const server = await serveEmbedded(dir, { JOBS_ENABLED: 'false', SHUTDOWN_DELAY_MS: '300' })
  const post = (path: string, body: string | URLSearchParams, type: string) =>
    fetch(`${server.url}/api/v1${path}`, { method: 'POST', headers: { 'content-type': type }, body })
  const reg = await post(
    '/auth/register',
    JSON.stringify({ email: 'ws@example.com', username: 'ws_user', password: TEST_PASSWORD }),
    'application/json',
  )
  expect(reg.status).toBe(201)
  const login = await post(
    '/auth/login',
    new URLSearchParams({ username: 'ws_user', password: TEST_PASSWORD }),
    'application/x-www-form-urlencoded',
  )
  const { access_token: token } = (await login.json()) as { access_token: string }
  const ws = server.url.replace('http', 'ws')
  const client = new Client(`${ws}/api/v1/realtime`, token)
  await client.opened
  expect((await client.next()).type).toBe('authenticated')
  const stopping = server.shutdown('test')
  await Bun.sleep(50)
  // draining: the open socket stays, a new upgrade is turned away
  const late = await fetch(`${server.url}/api/v1/realtime`, {
    headers: { authorization: `Bearer ${token}`, upgrade: 'websocket', connection: 'upgrade' },
  })
  expect(late.status).toBe(503)
  expect(client.ws.readyState).toBe(WebSocket.OPEN)
  expect(await client.closed).toEqual({ code: 1001, reason: expect.any(String) })
  await stopping
}, 30_000)
