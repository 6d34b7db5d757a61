import { jwt as jwtPlugin } from '@elysiajs/jwt'
import { LruCache } from '../../lib/lru'

export type JwtAlgorithm = 'HS256' | 'HS384' | 'HS512'

export interface AccessClaims {
  sub: string
  sid: string
  jti: string
  iat: number
  exp: number
  type: 'access'
}

/** Verified tokens kept per process, so a client's next request skips the HMAC (bounded). */
export const VERIFIED_CACHE_MAX = 10_000

/**
 * The `kid` of a key: a keyed hash of it, so it names the key without revealing anything an
 * HMAC signature does not already reveal.
 */
export function keyId(secret: string): string {
  return new Bun.CryptoHasher('sha256', secret)
    .update('taskbase access-token key id')
    .digest('base64url')
    .slice(0, 16)
}

function decodeHeader(token: string): Record<string, unknown> | null {
  const dot = token.indexOf('.')
  if (dot <= 0) return null
  try {
    const v = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8'))
    return v && typeof v === 'object' && !Array.isArray(v) ? v : null
  } catch {
    return null
  }
}

/**
 * Access tokens through @elysiajs/jwt (jose underneath): signed with `secret` under its `kid`;
 * verified with the key its `kid` names — the current one or one of `previousSecrets`, so rotating
 * SECRET_KEY logs nobody out while the old tokens live. A token without `kid` (minted before kids)
 * is checked against the current key. Only the configured algorithm is accepted (never `none`,
 * never another HMAC size), `typ` must be JWT when present, and the claims must be an unexpired
 * `type: access` token. Verified tokens are cached (LRU, `cacheSize`) until they expire.
 */
export function createJwt(
  secret: string,
  alg: JwtAlgorithm = 'HS256',
  previousSecrets: readonly string[] = [],
  cacheSize = VERIFIED_CACHE_MAX,
) {
  const signerOf = (key: string) =>
    jwtPlugin({ name: 'jwt', secret: key, alg, kid: keyId(key), typ: 'JWT' }).decorator.jwt
  const current = signerOf(secret)
  const byKid = new Map([[keyId(secret), current]])
  for (const old of previousSecrets) if (old !== secret) byKid.set(keyId(old), signerOf(old))
  const verified = new LruCache<string, AccessClaims>(cacheSize)

  return {
    async signAccess(
      sub: string,
      sid: string,
      ttlSeconds: number,
      now = Date.now(),
    ): Promise<{ token: string; claims: AccessClaims }> {
      // the plugin stamps iat with the signing time itself
      const claims: AccessClaims = {
        sub,
        sid,
        jti: Bun.randomUUIDv7(),
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(now / 1000) + ttlSeconds,
        type: 'access',
      }
      const { iat: _stamped, ...rest } = claims
      return { token: await current.sign(rest), claims }
    },

    async verifyAccess(token: string, now = Date.now()): Promise<AccessClaims | null> {
      const hit = verified.get(token)
      if (hit) return hit.exp * 1000 > now ? hit : null
      const head = decodeHeader(token)
      if (!head || head.alg !== alg || (head.typ !== undefined && head.typ !== 'JWT')) return null
      const verifier = head.kid === undefined ? current : byKid.get(String(head.kid))
      if (!verifier) return null
      const c = await verifier.verify(token, { algorithms: [alg], currentDate: new Date(now) })
      if (!c) return null
      if (
        c.type !== 'access' ||
        typeof c.sub !== 'string' ||
        typeof c.sid !== 'string' ||
        typeof c.exp !== 'number'
      )
        return null
      const claims = c as unknown as AccessClaims
      verified.set(token, claims)
      return claims
    },

    /** How many verified tokens the cache holds (for tests of its bound). */
    get cached(): number {
      return verified.size
    },
  }
}

export type Jwt = ReturnType<typeof createJwt>
