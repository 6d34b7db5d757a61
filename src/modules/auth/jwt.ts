import { safeEqual } from '../../lib/crypto'

export type JwtAlgorithm = 'HS256' | 'HS384' | 'HS512'
const HASH = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' } as const

export interface AccessClaims {
  sub: string
  sid: string
  jti: string
  iat: number
  exp: number
  type: 'access'
}

const enc = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

function decode(part: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    return v && typeof v === 'object' && !Array.isArray(v) ? v : null
  } catch {
    return null
  }
}

/**
 * HMAC JWTs with Bun's CryptoHasher. Verification accepts only the configured algorithm
 * (never `none`, never another HMAC size), a valid signature, an unexpired `exp` and `type: access`.
 */
export function createJwt(secret: string, alg: JwtAlgorithm = 'HS256') {
  const header = enc({ alg, typ: 'JWT' })
  const sign = (input: string) => new Bun.CryptoHasher(HASH[alg], secret).update(input).digest('base64url')
  return {
    signAccess(
      sub: string,
      sid: string,
      ttlSeconds: number,
      now = Date.now(),
    ): { token: string; claims: AccessClaims } {
      const iat = Math.floor(now / 1000)
      const claims: AccessClaims = {
        sub,
        sid,
        jti: Bun.randomUUIDv7(),
        iat,
        exp: iat + ttlSeconds,
        type: 'access',
      }
      const input = `${header}.${enc(claims)}`
      return { token: `${input}.${sign(input)}`, claims }
    },
    verifyAccess(token: string, now = Date.now()): AccessClaims | null {
      const parts = token.split('.')
      if (parts.length !== 3) return null
      const [h, p, s] = parts as [string, string, string]
      const head = decode(h)
      if (!head || head.alg !== alg || (head.typ !== undefined && head.typ !== 'JWT') || 'crit' in head)
        return null
      if (!safeEqual(sign(`${h}.${p}`), s)) return null
      const c = decode(p)
      if (c?.type !== 'access' || typeof c.sub !== 'string' || typeof c.sid !== 'string') return null
      if (typeof c.exp !== 'number' || c.exp * 1000 <= now) return null
      return c as unknown as AccessClaims
    },
  }
}

export type Jwt = ReturnType<typeof createJwt>
