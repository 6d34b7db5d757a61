import nodemailer from 'nodemailer'
import type { Settings } from '../config'
import type { Logger } from './logger'

export interface MailMessage {
  to: string
  subject: string
  text: string
}

export interface Mailer {
  readonly transport: 'log' | 'smtp' | string
  send(message: MailMessage): Promise<void>
}

/**
 * Development transport: the message, links included, goes to the log. This is the ONE place a
 * secret token (password reset, email verification) may appear in a log line — the log is the
 * delivery channel when no SMTP_URL is configured. Configure SMTP_URL in production.
 */
export function logMailer(logger: Logger): Mailer {
  return {
    transport: 'log',
    async send(message) {
      logger.info('mail (log transport, not sent)', {
        mail_to: message.to,
        mail_subject: message.subject,
        mail_text: message.text,
      })
    },
  }
}

/** Real delivery through any SMTP server (`smtp://user:pass@host:587`, `smtps://...`). */
export function smtpMailer(url: string, from: string): Mailer & { close(): void } {
  const transporter = nodemailer.createTransport(url)
  return {
    transport: 'smtp',
    async send(message) {
      await transporter.sendMail({ from, to: message.to, subject: message.subject, text: message.text })
    },
    close: () => transporter.close(),
  }
}

export function createMailer(settings: Pick<Settings, 'SMTP_URL' | 'MAIL_FROM'>, logger: Logger): Mailer {
  return settings.SMTP_URL ? smtpMailer(settings.SMTP_URL, settings.MAIL_FROM) : logMailer(logger)
}

/**
 * Sends after the current request finished, never blocking or failing it: a delivery error is
 * logged (without the message body) and dropped.
 */
export function sendInBackground(mailer: Mailer, message: MailMessage, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    setImmediate(() => {
      mailer
        .send(message)
        .catch((err) =>
          logger.error('mail delivery failed', {
            transport: mailer.transport,
            mail_subject: message.subject,
            err: String((err as Error)?.message ?? err),
          }),
        )
        .finally(resolve)
    })
  })
}
