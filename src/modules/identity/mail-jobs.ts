import { eq, sql } from 'drizzle-orm'
import type { Settings } from '../../config'
import type { Db } from '../../db/client'
import { users } from '../../db/schema'
import { enqueue } from '../../jobs/queue'
import type { JobDefinition } from '../../jobs/runner'
import type { Logger } from '../../lib/logger'
import type { Mailer, MailMessage } from '../../lib/mailer'
import { issueOneTimeToken, link, RESET_TTL_MS, UNDO_EMAIL_TTL_MS, VERIFY_TTL_MS } from './one-time-tokens'

export const MAIL_JOB = 'mail'

/**
 * What a mail job carries: the intent, never a secret. Reset, verification and undo tokens are
 * made when the mail is composed, so the jobs table never holds a usable link (a retry after an
 * SMTP failure makes a new one; each is single use and short-lived).
 */
export type MailIntent =
  | { template: 'welcome'; user_id: string }
  | { template: 'password_reset'; email: string }
  | { template: 'verify_email'; user_id: string }
  | { template: 'email_changed'; user_id: string; previous_email: string }

/** Queues a mail on `db` (the transaction of the change that causes it, where there is one). */
export const queueMail = (db: Db, intent: MailIntent) =>
  enqueue(db, { type: MAIL_JOB, payload: intent, maxAttempts: MAIL_MAX_ATTEMPTS })

const MAIL_MAX_ATTEMPTS = 8

export interface MailJobDeps {
  db: Db
  mailer: Mailer
  settings: Pick<Settings, 'PUBLIC_URL'>
  logger: Logger
}

async function userById(db: Db, id: string) {
  const [u] = await db
    .select({
      id: users.id,
      email: users.email,
      username: users.username,
      isActive: users.isActive,
      emailVerified: users.emailVerified,
    })
    .from(users)
    .where(eq(users.id, id))
    .limit(1)
  return u ?? null
}

/** The message for an intent, or null when there is nothing to send any more. */
export async function composeMail(deps: MailJobDeps, intent: MailIntent): Promise<MailMessage | null> {
  const { db, settings } = deps
  switch (intent.template) {
    case 'welcome': {
      const u = await userById(db, intent.user_id)
      if (!u) return null
      return {
        to: u.email,
        subject: 'Welcome to Taskbase',
        text: `Hello ${u.username},\n\nyour Taskbase account is ready. Sign in at ${settings.PUBLIC_URL}\n`,
      }
    }
    case 'password_reset': {
      const [u] = await db
        .select({ id: users.id, email: users.email, isActive: users.isActive })
        .from(users)
        .where(sql`lower(${users.email}) = ${intent.email.toLowerCase()}`)
        .limit(1)
      if (!u?.isActive) return null
      const token = await issueOneTimeToken(db, u.id, 'password_reset', u.email, RESET_TTL_MS)
      return {
        to: u.email,
        subject: 'Reset your Taskbase password',
        text: `Someone asked to reset the password of your Taskbase account.\n\nSet a new password within 30 minutes:\n${link(settings, '/reset-password', token)}\n\nIf this was not you, ignore this message.\n`,
      }
    }
    case 'verify_email': {
      const u = await userById(db, intent.user_id)
      if (!u || u.emailVerified) return null
      const token = await issueOneTimeToken(db, u.id, 'verify_email', u.email, VERIFY_TTL_MS)
      return {
        to: u.email,
        subject: 'Confirm your email address',
        text: `Confirm ${u.email} for your Taskbase account within 24 hours:\n${link(settings, '/verify-email', token)}\n`,
      }
    }
    case 'email_changed': {
      const u = await userById(db, intent.user_id)
      if (!u) return null
      const token = await issueOneTimeToken(
        db,
        u.id,
        'email_change_undo',
        intent.previous_email,
        UNDO_EMAIL_TTL_MS,
      )
      return {
        to: intent.previous_email,
        subject: 'Your Taskbase email address was changed',
        text: `The email address of the Taskbase account ${u.username} was changed from ${intent.previous_email} to ${u.email}.\n\nIf this was not you, undo it within 7 days (this also signs out every device and revokes every API token):\n${link(settings, '/undo-email-change', token)}\n\nThen reset your password.\n`,
      }
    }
  }
}

/** The `mail` job: compose, send, retried with backoff when the SMTP server fails. */
export function mailJob(deps: MailJobDeps): JobDefinition {
  return {
    type: MAIL_JOB,
    maxAttempts: MAIL_MAX_ATTEMPTS,
    concurrency: 2,
    timeoutMs: 30_000,
    backoffBaseMs: 5_000,
    async handle(payload) {
      const message = await composeMail(deps, payload as MailIntent)
      if (!message) return { sent: false }
      await deps.mailer.send(message)
      return { sent: true, transport: deps.mailer.transport }
    },
  }
}
