import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto'

/**
 * Webhook signing secrets: `whsec_` + base64 of 32 random bytes (the Standard Webhooks format, so
 * any of its libraries takes the secret as it is shown). At rest they are sealed with AES-256-GCM
 * under a key derived from SECRET_KEY (HKDF-SHA256): a database dump alone cannot sign anything.
 */
export const SECRET_PREFIX = 'whsec_'

export const generateSecret = () => `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`

const keys = new Map<string, Buffer>()
function keyOf(secretKey: string): Buffer {
  let key = keys.get(secretKey)
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', secretKey, 'taskbase', 'webhook-signing-secret', 32))
    if (keys.size > 16) keys.clear()
    keys.set(secretKey, key)
  }
  return key
}

/** `v1:<iv>:<ciphertext>:<tag>` (base64url parts). */
export function sealSecret(secret: string, secretKey: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', keyOf(secretKey), iv)
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()])
  return ['v1', iv, body, cipher.getAuthTag()]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join(':')
}

/**
 * Opens a sealed secret with SECRET_KEY or, after a key rotation, one of JWT_PREVIOUS_SECRETS (the
 * same list that keeps old access tokens valid). Throws when none opens it.
 */
export function openSecret(sealed: string, secretKeys: readonly string[]): string {
  const [version, iv, body, tag] = sealed.split(':')
  if (version !== 'v1' || !iv || body === undefined || !tag) throw new Error('not a sealed webhook secret')
  for (const secretKey of secretKeys) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', keyOf(secretKey), Buffer.from(iv, 'base64url'))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
        'utf8',
      )
    } catch {}
  }
  throw new Error('the webhook secret cannot be opened with SECRET_KEY or JWT_PREVIOUS_SECRETS')
}

/**
 * The `webhook-signature` header of the Standard Webhooks specification: `v1,<base64 HMAC-SHA256
 * of "{id}.{timestamp}.{body}">` keyed by the base64-decoded part of each secret, space separated
 * when several secrets sign (a rotation in progress).
 */
export function signatureHeader(secrets: readonly string[], id: string, timestamp: number, body: string) {
  const content = `${id}.${timestamp}.${body}`
  return secrets
    .map((s) => {
      const key = Buffer.from(s.startsWith(SECRET_PREFIX) ? s.slice(SECRET_PREFIX.length) : s, 'base64')
      return `v1,${createHmac('sha256', key).update(content).digest('base64')}`
    })
    .join(' ')
}
