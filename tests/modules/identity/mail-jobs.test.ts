import { describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { jobs } from '../../../src/db/schema'
import { type JobContext, JobRunner } from '../../../src/jobs/runner'
import { memoryLogger } from '../../../src/lib/logger'
import { createMailer, type Mailer, type smtpMailer } from '../../../src/lib/mailer'
import { mailJob } from '../../../src/modules/identity/mail-jobs'
import { createTestApp, expectProblem, type TestContext } from '../../helpers/app'
import { startSmtpSink } from '../../helpers/smtp'
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
    const { port, received, close } = await startSmtpSink()
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
      await close()
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

describe('mail failures', () => {
  test('mail failure paths do not leak through the API either', async () => {
    const ctx = await identityApp()
    expectProblem(
      await ctx.req('POST', '/api/v1/auth/verify-email/confirm', { body: { token: 'nope' } }),
      422,
    )
  })
})
