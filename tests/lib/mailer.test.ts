import { describe, expect, test } from 'bun:test'
import { ConfigError, loadSettings } from '../../src/config'
import { memoryLogger } from '../../src/lib/logger'
import { createMailer, logMailer, maskEmail } from '../../src/lib/mailer'

const STRONG_SECRET = 'n3B-q8Zr_Wk1xT5vL0cYp7Hs2Jd9Fm4Ga6Ue'

function load(env: Record<string, string>) {
  return loadSettings({ env, dotenvPath: null, persistSecret: false })
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    load(env)
  } catch (e) {
    if (e instanceof ConfigError) return e.problems
    throw e
  }
  return []
}

const production = { ENVIRONMENT: 'production', SECRET_KEY: STRONG_SECRET }

describe('MAIL_TRANSPORT and SMTP_URL', () => {
  test('production refuses to start without SMTP_URL unless MAIL_TRANSPORT=log is chosen', () => {
    const problems = problemsOf(production)
    expect(problems).toEqual([
      'SMTP_URL: is required in production (password-reset and verification mail); ' +
        'or set MAIL_TRANSPORT=log to run without delivering mail',
    ])
    expect(load({ ...production, MAIL_TRANSPORT: 'log' }).MAIL_TRANSPORT).toBe('log')
    expect(load({ ...production, SMTP_URL: 'smtp://mail.example:587' }).MAIL_TRANSPORT).toBe('smtp')
  })

  test('development and test default to the log transport, or SMTP when SMTP_URL is set', () => {
    expect(load({}).MAIL_TRANSPORT).toBe('log')
    expect(load({ ENVIRONMENT: 'test' }).MAIL_TRANSPORT).toBe('log')
    expect(load({ SMTP_URL: 'smtps://u:p@mail.example' }).MAIL_TRANSPORT).toBe('smtp')
    // an explicit choice wins over SMTP_URL
    expect(load({ SMTP_URL: 'smtps://u:p@mail.example', MAIL_TRANSPORT: 'log' }).MAIL_TRANSPORT).toBe('log')
  })

  test('MAIL_TRANSPORT=smtp needs SMTP_URL; unknown transports are refused', () => {
    expect(problemsOf({ MAIL_TRANSPORT: 'smtp' })).toEqual(['SMTP_URL: is required when MAIL_TRANSPORT=smtp'])
    const bad = problemsOf({ MAIL_TRANSPORT: 'pigeon' })
    expect(bad).toHaveLength(1)
    expect(bad[0]).toStartWith('MAIL_TRANSPORT:')
    expect(bad[0]).toContain('"pigeon"')
  })

  test('createMailer follows MAIL_TRANSPORT', () => {
    const log = memoryLogger()
    const smtpAndLog = { SMTP_URL: 'smtp://127.0.0.1:1', MAIL_FROM: 'x@y.z' }
    expect(createMailer({ ...smtpAndLog, MAIL_TRANSPORT: 'log' }, log.logger).transport).toBe('log')
    const smtp = createMailer({ ...smtpAndLog, MAIL_TRANSPORT: 'smtp' }, log.logger)
    expect(smtp.transport).toBe('smtp')
    ;(smtp as unknown as { close(): void }).close()
  })
})

describe('the log transport', () => {
  const message = {
    to: 'alice.smith@example.com',
    subject: 'Reset your Taskbase password',
    text: 'Set a new password:\nhttp://localhost:8000/reset-password?token=SECRET-TOKEN-123\n',
  }

  test('in production it never writes the message or the address: it says a mail was not sent', async () => {
    const log = memoryLogger()
    const mailer = createMailer(
      { ENVIRONMENT: 'production', MAIL_TRANSPORT: 'log', MAIL_FROM: 'x@y.z' },
      log.logger,
    )
    expect(mailer.transport).toBe('log')
    await mailer.send(message)
    const all = log.lines.join('\n')
    expect(all).not.toContain('SECRET-TOKEN-123')
    expect(all).not.toContain('reset-password')
    expect(all).not.toContain('alice.smith')
    const entries = log.entries()
    // one warning when the mailer is made, one per message
    expect(entries[0]).toMatchObject({ level: 'warn', transport: 'log' })
    expect(String(entries[0]!.msg)).toContain('no mail is delivered')
    expect(entries[1]).toEqual({
      time: expect.any(String),
      level: 'warn',
      msg: 'mail not sent: no SMTP server configured (MAIL_TRANSPORT=log)',
      mail_to: 'a***@example.com',
      mail_subject: 'Reset your Taskbase password',
    })
  })

  test('in development and test it keeps writing the whole message, links included', async () => {
    for (const ENVIRONMENT of ['development', 'test'] as const) {
      const log = memoryLogger()
      await createMailer({ ENVIRONMENT, MAIL_TRANSPORT: 'log', MAIL_FROM: 'x@y.z' }, log.logger).send(message)
      expect(log.entries()).toEqual([
        {
          time: expect.any(String),
          level: 'info',
          msg: 'mail (log transport, not sent)',
          mail_to: message.to,
          mail_subject: message.subject,
          mail_text: message.text,
        },
      ])
    }
    const log = memoryLogger()
    await logMailer(log.logger, { withText: false }).send(message)
    expect(log.lines.join('\n')).not.toContain('SECRET-TOKEN-123')
  })

  test('maskEmail keeps the first character and the domain', () => {
    expect(maskEmail('alice.smith@example.com')).toBe('a***@example.com')
    expect(maskEmail('b@x.org')).toBe('b***@x.org')
    expect(maskEmail('no-at-sign')).toBe('***')
    expect(maskEmail('@example.com')).toBe('***@example.com')
  })

  test('production settings as loaded give the app a mailer that never logs a reset link', async () => {
    const settings = load({ ...production, MAIL_TRANSPORT: 'log' })
    const log = memoryLogger()
    // what src/modules/identity/index.ts does when no mailer is injected
    const mailer = createMailer(settings, log.logger)
    await mailer.send(message)
    expect(log.lines.join('\n')).not.toContain('token=')
    expect(log.entries().at(-1)).toMatchObject({ mail_to: 'a***@example.com', mail_subject: message.subject })
    const dev = memoryLogger()
    await createMailer(load({ MAIL_TRANSPORT: 'log' }), dev.logger).send(message)
    expect(dev.lines.join('\n')).toContain('reset-password?token=SECRET-TOKEN-123')
  })
})
