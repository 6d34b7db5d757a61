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

/** `alice@example.com` -> `a***@example.com`: enough to tell users apart in a log, not to mail them. */
export function maskEmail(address: string): string {
  const at = address.lastIndexOf('@')
  if (at < 0) return '***'
  return `${address.slice(0, Math.min(at, 1))}***${address.slice(at)}`
}

/**
 * The transport when no SMTP server is configured. In development and test the message, links
 * included, goes to the log: the ONE place a secret token (password reset, email verification)
 * may appear in a log line, because the log is then the delivery channel. With `withText: false`
 * (production, MAIL_TRANSPORT=log) it only says that a mail to a masked address was not sent:
 * production logs never carry a reset link.
 */
export function logMailer(logger: Logger, opts: { withText?: boolean } = {}): Mailer {
  const withText = opts.withText ?? true
  return {
    transport: 'log',
    async send(message) {
      if (!withText) {
        logger.warn('mail not sent: no SMTP server configured (MAIL_TRANSPORT=log)', {
          mail_to: maskEmail(message.to),
          mail_subject: message.subject,
        })
        return
      }
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

/**
 * SMTP when MAIL_TRANSPORT (resolved by loadSettings) says so, or, when it is absent, when
 * SMTP_URL is set; otherwise the log. Only production hides the message text from the log.
 */
export function createMailer(
  settings: Pick<Settings, 'SMTP_URL' | 'MAIL_FROM'> &
    Partial<Pick<Settings, 'ENVIRONMENT' | 'MAIL_TRANSPORT'>>,
  logger: Logger,
): Mailer {
  const transport = settings.MAIL_TRANSPORT ?? (settings.SMTP_URL ? 'smtp' : 'log')
  if (transport === 'smtp' && settings.SMTP_URL) return smtpMailer(settings.SMTP_URL, settings.MAIL_FROM)
  if (settings.ENVIRONMENT !== 'production') return logMailer(logger)
  logger.warn(
    'MAIL_TRANSPORT=log in production: no mail is delivered (password reset, email verification and change notices never reach users); set SMTP_URL',
    { transport: 'log' },
  )
  return logMailer(logger, { withText: false })
}
