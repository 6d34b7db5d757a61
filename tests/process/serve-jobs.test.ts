import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { apiBusy } from '../../src/cli/serve'
import { TEST_PASSWORD, unique } from '../helpers/app'
import { serveEmbedded } from '../helpers/serve'
import { startSmtpSink } from '../helpers/smtp'

/**
 * `serve` works the job queue: a registration's welcome mail reaches a real SMTP server through the
 * serving process's own runner. An instance with JOBS_ENABLED=false leaves the job queued, and the
 * next instance with jobs on sends it. Embedded database in a DATA_DIR of its own, so no other
 * test's runner can take these jobs.
 */
let smtp: Awaited<ReturnType<typeof startSmtpSink>>
const dir = mkdtempSync(join(tmpdir(), 'tb-serve-jobs-'))
beforeAll(async () => {
  smtp = await startSmtpSink()
})
afterAll(async () => {
  await smtp.close()
  rmSync(dir, { recursive: true, force: true })
})

const serve = (env: Record<string, string>) =>
  serveEmbedded(dir, { SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, JOBS_POLL_INTERVAL_MS: '100', ...env })

async function register(url: string) {
  const name = unique('sj')
    .replace(/[^a-z0-9]/gi, '')
    .slice(0, 30)
  const email = `${name}@example.com`
  const res = await fetch(`${url}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, username: name, password: TEST_PASSWORD }),
  })
  expect(res.status).toBe(201)
  return email
}

const mailTo = (email: string) => smtp.received.filter((m) => m.to.includes(email))

async function waitForMail(email: string) {
  for (let i = 0; i < 1000 && !mailTo(email).length; i++) await Bun.sleep(20)
  return mailTo(email)
}

describe('serve runs the job queue', () => {
  test('the welcome mail of a registration is delivered over SMTP by the serving process', async () => {
    const server = await serve({})
    try {
      const email = await register(server.url)
      const mail = await waitForMail(email)
      expect(mail).toHaveLength(1)
      expect(mail[0]!.data).toContain('Subject: Welcome to Taskbase')
    } finally {
      await server.shutdown('test')
    }
  }, 30_000)

  test('JOBS_ENABLED=false serves HTTP only; the queued mail goes out from the next instance with jobs on', async () => {
    const apiOnly = await serve({ JOBS_ENABLED: 'false' })
    let email: string
    try {
      email = await register(apiOnly.url)
    } finally {
      await apiOnly.shutdown('test')
    }
    // the API-only instance is gone: whatever it might have sent would be here already
    expect(mailTo(email)).toHaveLength(0)
    const worker = await serve({})
    try {
      expect(await waitForMail(email)).toHaveLength(1)
    } finally {
      await worker.shutdown('test')
    }
  }, 30_000)
})

describe('the API load signal (JOBS_YIELD_AT_REQUESTS)', () => {
  test('busy while that many requests are in flight in a real server; never with 0', async () => {
    let release!: () => void
    const held = new Promise<void>((r) => {
      release = r
    })
    const server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: async () => {
        await held
        return new Response('ok')
      },
    })
    try {
      const busyAt3 = apiBusy(server, 3)
      const never = apiBusy(server, 0)
      expect(busyAt3()).toBe(false)
      const requests = Array.from({ length: 3 }, () => fetch(server.url))
      for (let i = 0; i < 200 && server.pendingRequests < 3; i++) await Bun.sleep(5)
      expect(busyAt3()).toBe(true)
      expect(apiBusy(server, 4)()).toBe(false)
      expect(never()).toBe(false)
      release()
      for (const r of await Promise.all(requests)) expect(await r.text()).toBe('ok')
      for (let i = 0; i < 200 && server.pendingRequests > 0; i++) await Bun.sleep(5)
      expect(busyAt3()).toBe(false)
    } finally {
      server.stop(true)
    }
  })
})
