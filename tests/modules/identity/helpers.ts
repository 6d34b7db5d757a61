import { JobRunner } from '../../../src/jobs/runner'
import { memoryLogger } from '../../../src/lib/logger'
import type { Mailer, MailMessage } from '../../../src/lib/mailer'
import { mailJob } from '../../../src/modules/identity/mail-jobs'
import { createTestApp, TEST_PASSWORD, type TestContext, type TestResponse, unique } from '../../helpers/app'

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

/**
 * One mailbox and one mail-job runner per test process: every test app shares the database, so a
 * runner may send any app's mail; tests tell their mail apart by its (unique) recipient.
 */
const sharedMail = captureMailer()
let runner: JobRunner | undefined

async function mailRunner(ctx: TestContext) {
  if (runner) return runner
  runner = new JobRunner({
    database: ctx.database,
    logger: memoryLogger('error').logger,
    definitions: [
      mailJob({ db: ctx.db, mailer: sharedMail.mailer, settings: ctx.settings, logger: ctx.deps.logger }),
    ],
    concurrency: 4,
    pollIntervalMs: 200,
  })
  await runner.start()
  return runner
}

/** A test app with TRUST_PROXY on (X-Forwarded-For picks the client IP) and captured mail. */
export async function identityApp(env: Record<string, string> = {}) {
  const ctx = await createTestApp({ env: { TRUST_PROXY: 'true', ...env } })
  await mailRunner(ctx)
  return { ...ctx, mail: sharedMail }
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

/** Runs `fn` with the process's mail runner stopped (query counts then see only the request's own). */
export async function withMailRunnerPaused<T>(fn: () => Promise<T>): Promise<T> {
  await runner?.stop()
  try {
    return await fn()
  } finally {
    await runner?.start()
  }
}
