import type { Db } from '../../db/client'
import { type OneTimePurpose, oneTimeTokens } from '../../db/schema'
import { randomToken, sha256Hex } from '../../lib/crypto'

export const RESET_TTL_MS = 30 * 60_000
export const VERIFY_TTL_MS = 24 * 3_600_000
/** How long the previous address can undo an email change. */
export const UNDO_EMAIL_TTL_MS = 7 * 24 * 3_600_000

/** A single-use token for `purpose`, bound to the address it is mailed to; only its hash is stored. */
export async function issueOneTimeToken(
  db: Db,
  userId: string,
  purpose: OneTimePurpose,
  email: string,
  ttlMs: number,
) {
  const token = randomToken(32)
  await db.insert(oneTimeTokens).values({
    userId,
    purpose,
    email,
    tokenHash: sha256Hex(token),
    expiresAt: new Date(Date.now() + ttlMs),
  })
  return token
}

export const link = (settings: { PUBLIC_URL: string }, path: string, token: string) =>
  `${settings.PUBLIC_URL.replace(/\/+$/, '')}${path}?token=${encodeURIComponent(token)}`
