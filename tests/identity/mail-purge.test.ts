import { describe, expect, test } from 'bun:test'
import type { AddressInfo } from 'node:net'
import { eq, sql } from 'drizzle-orm'
import { SMTPServer } from 'smtp-server'
import { jobs, oneTimeTokens, sessions } from '../../src/db/schema'
import { type JobContext, JobRunner } from '../../src/jobs/runner'
import { parseIfMatch } from '../../src/lib/etag'
import { memoryLogger } from '../../src/lib/logger'
import { createMailer, type Mailer, type smtpMailer } from '../../src/lib/mailer'
import { uniqueViolation } from '../../src/lib/pg-errors'
import { mailJob } from '../../src/modules/identity/mail-jobs'
import { createPasswordHasher, Semaphore } from '../../src/modules/identity/password'
import { purgeExpired } from '../../src/modules/identity/sessions-service'
import { createTestApp, createUser, expectProblem, type TestContext } from '../helpers/app'
import { account, identityApp, register } from './helpers'

const jobContext = (ctx: TestContext) =>
  ({ db: ctx.db, logger: ctx.deps.logger, signal: new AbortController().signal }) as unknown as JobContext

describe('mail transports', () => {
  test('the log transport writes the message, link included, to the log (by design the one place a token is logged)', async () => {
    const log = memoryLogger()
    const mailer = createMailer({ MAIL_FROM: 'x@y.z' }, log.logger)
    expect(mailer.transport).toBe('log')
    await mailer.send({ to: 'a@example.com', subject: 'Hi', text: 'link http://x/?token=abc' })
    expect(log.entries()[0]).toMatchObject({
      mail_to: 'a@example.com',
      mail_subject: 'Hi',
      mail_text: 'link http://x/?token=abc',
    })
  })

  test('the mail job with the default (log) transport: a reset link lands in the log', async () => {
    const ctx = await createTestApp({ env: { TRUST_PROXY: 'true' } })
    const a = await account(ctx)
    const log = memoryLogger()
    const job = mailJob({
      db: ctx.db,
      mailer: createMailer(ctx.settings, log.logger),
      settings: ctx.settings,
      logger: log.logger,
    })
    expect(await job.handle({ template: 'password_reset', email: a.email }, jobContext(ctx))).toEqual({
      sent: true,
      transport: 'log',
    })
    expect(log.lines.some((l) => l.includes('reset-password?token='))).toBe(true)
    // an unknown address composes nothing
    expect(
      await job.handle({ template: 'password_reset', email: 'nobody@nowhere.test' }, jobContext(ctx)),
    ).toEqual({
      sent: false,
    })
  })

  test('the SMTP transport delivers to a real SMTP server', async () => {
    const received: { from?: string; to: string[]; data: string }[] = []
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        let data = ''
        stream.on('data', (c: Buffer) => {
          data += c.toString()
        })
        stream.on('end', () => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
            to: session.envelope.rcptTo.map((r) => r.address),
            data,
          })
          callback()
        })
      },
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.server.address() as AddressInfo).port
    try {
      const mailer = createMailer(
        { SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'Taskbase <no-reply@taskbase.test>' },
        memoryLogger().logger,
      )
      expect(mailer.transport).toBe('smtp')
      await mailer.send({ to: 'bob@example.com', subject: 'Hello over SMTP', text: 'body text' })
      ;(mailer as ReturnType<typeof smtpMailer>).close()
      expect(received).toHaveLength(1)
      expect(received[0]!.from).toBe('no-reply@taskbase.test')
      expect(received[0]!.to).toEqual(['bob@example.com'])
      expect(received[0]!.data).toContain('Subject: Hello over SMTP')
      expect(received[0]!.data).toContain('body text')
    } finally {
      await new Promise<void>((r) => server.close(() => r()))
    }
  })

  test('a failing mailer never fails the request: the job is retried later, its error kept without the body', async () => {
    const failing: Mailer = {
      transport: 'broken',
      send: async () => {
        throw new Error('smtp down')
      },
    }
    const ctx = await createTestApp({ env: { TRUST_PROXY: 'true' } })
    const res = await register(ctx)
    expect(res.status).toBe(201)
    // the mail job on its own type, so no other runner in this process takes it
    const log = memoryLogger()
    const type = `mail-broken-${res.body.id}`
    const def = {
      ...mailJob({ db: ctx.db, mailer: failing, settings: ctx.settings, logger: log.logger }),
      type,
    }
    const runner = new JobRunner({
      database: ctx.database,
      logger: log.logger,
      definitions: [def],
      concurrency: 1,
    })
    const [job] = await ctx.db
      .insert(jobs)
      .values({ type, payload: { template: 'welcome', user_id: res.body.id } })
      .returning()
    await runner.start()
    try {
      for (let i = 0; i < 200; i++) {
        const [row] = await ctx.db.select().from(jobs).where(eq(jobs.id, job!.id))
        if (row?.lastError) break
        await Bun.sleep(10)
      }
    } finally {
      await runner.stop()
    }
    const [row] = await ctx.db.select().from(jobs).where(eq(jobs.id, job!.id))
    expect(row).toMatchObject({ status: 'queued', attempts: 1, lastError: 'smtp down' })
    expect(row!.runAt.getTime()).toBeGreaterThan(Date.now()) // retried after a backoff
    const line = log.entries().find((e) => e.msg === 'job attempt failed')!
    expect(line).toMatchObject({ level: 'warn', err: 'smtp down', final: false })
    expect(JSON.stringify(log.entries())).not.toContain('Welcome')
  })
})

describe('password hashing', () => {
  test('the semaphore never runs more than its size at once', async () => {
    const gate = new Semaphore(2)
    let running = 0
    let peak = 0
    await Promise.all(
      Array.from({ length: 6 }, () =>
        gate.run(async () => {
          running++
          peak = Math.max(peak, running)
          expect(gate.running).toBeLessThanOrEqual(2)
          await Bun.sleep(2)
          running--
        }),
      ),
    )
    expect(peak).toBe(2)
    expect(gate.running).toBe(0)
    expect(gate.queued).toBe(0)
  })

  test('hashes with argon2id at the configured cost, with bounded concurrency; unknown users verify against a dummy', async () => {
    const hasher = createPasswordHasher({
      PASSWORD_HASH_MEMORY_KIB: 8192,
      PASSWORD_HASH_TIME_COST: 1,
      PASSWORD_HASH_CONCURRENCY: 1,
    })
    const hashes = await Promise.all([hasher.hash('Abc-12345'), hasher.hash('Abc-12345')])
    expect(hashes[0]).toStartWith('$argon2id$v=19$m=8192,t=1,')
    expect(hashes[0]).not.toBe(hashes[1])
    expect(await hasher.verify('Abc-12345', hashes[0])).toBe(true)
    expect(await hasher.verify('wrong', hashes[0])).toBe(false)
    expect(await hasher.verify('Abc-12345', null)).toBe(false)
    expect(await hasher.verify('Abc-12345', undefined)).toBe(false)
  })
})

describe('purge of expired sessions and one-time tokens', () => {
  test('deletes sessions expired or ended over a day ago and expired one-time tokens; keeps live ones', async () => {
    const ctx = await createTestApp()
    const u = await createUser(ctx)
    const day = 86_400_000
    const [old, oldRevoked, recentRevoked] = await ctx.db
      .insert(sessions)
      .values([
        { userId: u.id, expiresAt: new Date(Date.now() - 2 * day) },
        { userId: u.id, expiresAt: new Date(Date.now() + day), revokedAt: new Date(Date.now() - 2 * day) },
        { userId: u.id, expiresAt: new Date(Date.now() + day), revokedAt: new Date() },
      ])
      .returning()
    const [expiredToken, liveToken] = await ctx.db
      .insert(oneTimeTokens)
      .values([
        {
          userId: u.id,
          purpose: 'password_reset',
          email: u.email,
          tokenHash: `h-${Bun.randomUUIDv7()}`,
          expiresAt: new Date(Date.now() - 1000),
        },
        {
          userId: u.id,
          purpose: 'password_reset',
          email: u.email,
          tokenHash: `h-${Bun.randomUUIDv7()}`,
          expiresAt: new Date(Date.now() + day),
        },
      ])
      .returning()
    const result = await purgeExpired(ctx.db)
    expect(result.sessions).toBeGreaterThanOrEqual(2)
    expect(result.oneTimeTokens).toBeGreaterThanOrEqual(1)
    const left = await ctx.db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, u.id))
    const ids = left.map((s) => s.id)
    expect(ids).toContain(u.sessionId)
    expect(ids).toContain(recentRevoked!.id)
    expect(ids).not.toContain(old!.id)
    expect(ids).not.toContain(oldRevoked!.id)
    const tokens = await ctx.db
      .select({ id: oneTimeTokens.id })
      .from(oneTimeTokens)
      .where(eq(oneTimeTokens.userId, u.id))
    expect(tokens.map((t) => t.id)).toEqual([liveToken!.id])
    expect(expiredToken).toBeDefined()
  })
})

describe('helpers', () => {
  test('uniqueViolation finds SQLSTATE 23505 through Drizzle wrappers on both drivers', async () => {
    const ctx = await createTestApp()
    const u = await createUser(ctx)
    const err = await ctx.database
      .rows(
        sql`insert into users (id, email, username, password_hash) values (${Bun.randomUUIDv7()}, ${u.email.toUpperCase()}, 'zz-unique-x', 'h')`,
      )
      .catch((e) => e)
    expect(uniqueViolation(err)).toBe('users_email_lower_key')
    expect(uniqueViolation(new Error('other'))).toBeNull()
    expect(uniqueViolation({ code: '23505' })).toBe('unique')
  })

  test('If-Match parsing', () => {
    expect(parseIfMatch(undefined)).toBeNull()
    expect(parseIfMatch('*')).toBeNull()
    expect(parseIfMatch('"3", W/"4"')).toEqual([3, 4])
    expect(parseIfMatch('nope')).toEqual([])
  })

  test('mail failure paths do not leak through the API either', async () => {
    const ctx = await identityApp()
    expectProblem(
      await ctx.req('POST', '/api/v1/auth/verify-email/confirm', { body: { token: 'nope' } }),
      422,
    )
  })
})
