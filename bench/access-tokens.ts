/**
 * CPU per access-token check: the hand-rolled HMAC check Taskbase had before issue 8, jose through
 * @elysiajs/jwt without the verified-token cache, and the product path (jose + cache, a client
 * reusing its token). 100,000 checks each, 1,000 in flight at a time.
 *   bun bench/access-tokens.ts
 */
import { createJwt } from '../src/modules/identity/access-tokens'

const SECRET = 'bench-secret-key-0123456789-abcdefghijkl'
const N = 100_000
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

/** The previous implementation, for reference: HMAC by Bun.CryptoHasher, claims checked by hand. */
function handVerify(token: string) {
  const [h, p, s] = token.split('.') as [string, string, string]
  const sig = new Bun.CryptoHasher('sha256', SECRET).update(`${h}.${p}`).digest('base64url')
  if (sig !== s) return null
  const c = JSON.parse(Buffer.from(p, 'base64url').toString())
  return c.exp * 1000 > Date.now() ? c : null
}

async function measure(name: string, check: () => unknown) {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < N; i += 1000) await Promise.all(Array.from({ length: 1000 }, check))
  const cpu = process.cpuUsage(cpu0)
  return {
    check: name,
    'CPU µs per check': ((cpu.user + cpu.system) / N).toFixed(2),
    'wall µs per check': (((performance.now() - t0) * 1000) / N).toFixed(2),
  }
}

const now = Math.floor(Date.now() / 1000)
const claims = {
  sub: Bun.randomUUIDv7(),
  sid: Bun.randomUUIDv7(),
  jti: 'x',
  iat: now,
  exp: now + 900,
  type: 'access',
}
const handInput = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`
const handToken = `${handInput}.${new Bun.CryptoHasher('sha256', SECRET).update(handInput).digest('base64url')}`
const uncached = createJwt(SECRET, 'HS256', [], 1)
const cached = createJwt(SECRET)
const { token } = await cached.signAccess(claims.sub, claims.sid, 900)
// 2,000 distinct tokens through a cache of one: every check misses
const distinct = await Promise.all(
  Array.from({ length: 2000 }, async () => (await uncached.signAccess(claims.sub, claims.sid, 900)).token),
)
let next = 0
const rows = [
  await measure('hand-rolled HMAC (before)', () => handVerify(handToken)),
  await measure('@elysiajs/jwt (jose), cache miss', () => uncached.verifyAccess(distinct[next++ % 2000]!)),
  await measure('@elysiajs/jwt (jose) + verified cache (product)', () => cached.verifyAccess(token)),
]
console.table(rows)
