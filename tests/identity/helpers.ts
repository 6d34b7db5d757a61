import { BackgroundTasks } from '../../src/lib/background'
import { memoryLogger } from '../../src/lib/logger'
import type { Mailer, MailMessage } from '../../src/lib/mailer'
import { createTestApp, TEST_PASSWORD, type TestContext, type TestResponse, unique } from '../helpers/app'

export { TEST_PASSWORD, unique }

/** Collects sent mail; `next` waits for the first message (sent or still to come) to `to` whose subject contains `subject`. */
export function captureMailer() {
  const sent: MailMessage[] = []
  const waiters: { match: (m: MailMessage) => boolean; resolve: (m: MailMessage) => void }[] = []
  const mailer: Mailer = {
    transport: 'capture',
    async send(message) {
      sent.push(message)
      for (const w of waiters.splice(0)) {
        if (w.match(message)) w.resolve(message)
        else waiters.push(w)
      }
    },
  }
  const next = (to: string, subject = '', timeoutMs = 2_000) =>
    new Promise<MailMessage>((resolve, reject) => {
      const match = (m: MailMessage) => m.to === to && m.subject.includes(subject)
      const found = sent.find(match)
      if (found) return resolve(found)
      waiters.push({ match, resolve })
      setTimeout(() => reject(new Error(`no mail to ${to} within ${timeoutMs} ms`)), timeoutMs).unref()
    })
  return { mailer, sent, next }
}

let ipSeq = 0
/** A fresh client address per call, so per-IP limits of one test do not spill into another. */
export const freshIp = () => {
  ipSeq++
  return `10.${(ipSeq >> 16) & 255}.${(ipSeq >> 8) & 255}.${ipSeq & 255}`
}

/** A test app with TRUST_PROXY on (X-Forwarded-For picks the client IP) and captured mail. */
export async function identityApp(env: Record<string, string> = {}) {
  const mail = captureMailer()
  const background = new BackgroundTasks(memoryLogger('error').logger)
  const ctx = await createTestApp({
    env: { TRUST_PROXY: 'true', ...env },
    deps: { mailer: mail.mailer, background },
  })
  return { ...ctx, mail, background }
}

export type IdentityApp = Awaited<ReturnType<typeof identityApp>>

export interface Account {
  id: string
  email: string
  username: string
  password: string
  access: string
  refresh: string
}

export async function register(
  ctx: Pick<TestContext, 'req'>,
  o: { email?: string; username?: string; password?: string; full_name?: string } = {},
): Promise<TestResponse> {
  const name = o.username ?? unique('id')
  return ctx.req('POST', '/api/v1/auth/register', {
    body: {
      email: o.email ?? `${name}@example.com`,
      username: name,
      password: o.password ?? TEST_PASSWORD,
      ...(o.full_name !== undefined ? { full_name: o.full_name } : {}),
    },
    headers: { 'x-forwarded-for': freshIp() },
  })
}

export async function login(
  ctx: Pick<TestContext, 'req'>,
  username: string,
  password = TEST_PASSWORD,
  ip = freshIp(),
) {
  return ctx.req('POST', '/api/v1/auth/login', {
    body: { username, password },
    headers: { 'x-forwarded-for': ip, 'user-agent': 'identity-test' },
  })
}

/** Registers through the real endpoint and logs in through the real endpoint. */
export async function account(ctx: Pick<TestContext, 'req'>, password = TEST_PASSWORD): Promise<Account> {
  const username = unique('acct')
  const reg = await register(ctx, { username, password })
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${reg.text}`)
  const res = await login(ctx, username, password)
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`)
  return {
    id: reg.body.id,
    email: reg.body.email,
    username,
    password,
    access: res.body.access_token,
    refresh: res.body.refresh_token,
  }
}
