import { describe, expect, test } from 'bun:test'
import { loadSettings } from '../../../src/config'
import { createJwt, keyId } from '../../../src/modules/identity/access-tokens'
import { createTestApp, createUser, expectProblem, TEST_SECRET } from '../../helpers/app'

/**
 * Issue 8 #8: access tokens are signed by @elysiajs/jwt (jose), carry a `kid`, and a rotated
 * secret keeps verifying through JWT_PREVIOUS_SECRETS until its tokens expire.
 */
const OLD = 'previous-secret-key-that-is-long-enough-987654'
const NEW = 'current-secret-key-that-is-long-enough-1234567'
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const headerOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())
const handSigned = (secret: string, header: object, claims: object) => {
  const input = `${b64(header)}.${b64(claims)}`
  return `${input}.${new Bun.CryptoHasher('sha256', secret).update(input).digest('base64url')}`
}
const uuid = () => Bun.randomUUIDv7()

describe('access tokens', () => {
  test('carry alg, typ and a kid derived from the key (never the key), and verify', async () => {
    const jwt = createJwt(NEW)
    const { token, claims } = await jwt.signAccess(uuid(), uuid(), 60)
    const header = headerOf(token)
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT', kid: keyId(NEW) })
    expect(header.kid).not.toContain(NEW.slice(0, 8))
    expect(keyId(NEW)).not.toBe(keyId(OLD))
    expect(await jwt.verifyAccess(token)).toMatchObject({ sub: claims.sub, sid: claims.sid, type: 'access' })
  })

  test('a rotated secret still verifies through the previous-secret list; without it, not', async () => {
    const old = createJwt(OLD)
    const rotated = createJwt(NEW, 'HS256', [OLD])
    const alone = createJwt(NEW)
    const { token } = await old.signAccess(uuid(), uuid(), 60)
    expect(await rotated.verifyAccess(token)).not.toBeNull()
    expect(await alone.verifyAccess(token)).toBeNull()
    // new tokens are signed with the current key only
    const fresh = (await rotated.signAccess(uuid(), uuid(), 60)).token
    expect(headerOf(fresh).kid).toBe(keyId(NEW))
    expect(await old.verifyAccess(fresh)).toBeNull()
  })

  test('a token without kid (signed before kids existed) is checked against the current key only', async () => {
    const now = Math.floor(Date.now() / 1000)
    const claims = { sub: uuid(), sid: uuid(), jti: uuid(), iat: now, exp: now + 60, type: 'access' }
    const rotated = createJwt(NEW, 'HS256', [OLD])
    expect(await rotated.verifyAccess(handSigned(NEW, { alg: 'HS256', typ: 'JWT' }, claims))).not.toBeNull()
    expect(await rotated.verifyAccess(handSigned(OLD, { alg: 'HS256', typ: 'JWT' }, claims))).toBeNull()
  })

  test('unknown kid, another algorithm, alg none, a wrong typ and crit are refused', async () => {
    const now = Math.floor(Date.now() / 1000)
    const claims = { sub: uuid(), sid: uuid(), jti: uuid(), iat: now, exp: now + 60, type: 'access' }
    const jwt = createJwt(NEW)
    const kid = keyId(NEW)
    const refused = {
      unknownKid: handSigned(NEW, { alg: 'HS256', typ: 'JWT', kid: 'nope' }, claims),
      hs512Header: handSigned(NEW, { alg: 'HS512', typ: 'JWT', kid }, claims),
      none: `${b64({ alg: 'none', kid })}.${b64(claims)}.`,
      typ: handSigned(NEW, { alg: 'HS256', typ: 'at+jwt', kid }, claims),
      crit: handSigned(NEW, { alg: 'HS256', typ: 'JWT', kid, crit: ['exp'], exp: 1 }, claims),
      garbage: 'a.b.c',
      empty: '',
    }
    for (const [name, token] of Object.entries(refused)) {
      const got = await jwt.verifyAccess(token)
      if (got !== null) throw new Error(`${name}: accepted`)
    }
    expect(await jwt.verifyAccess(handSigned(NEW, { alg: 'HS256', typ: 'JWT', kid }, claims))).not.toBeNull()
  })

  test('verified tokens are cached up to a bound; a cached token still expires', async () => {
    const jwt = createJwt(NEW, 'HS256', [], 8)
    const tokens = await Promise.all(Array.from({ length: 20 }, () => jwt.signAccess(uuid(), uuid(), 60)))
    for (const { token } of tokens) expect(await jwt.verifyAccess(token)).not.toBeNull()
    expect(jwt.cached).toBe(8)
    const last = tokens.at(-1)!
    expect(await jwt.verifyAccess(last.token, (last.claims.exp + 1) * 1000)).toBeNull()
    // invalid tokens never enter the cache
    for (let i = 0; i < 20; i++) await jwt.verifyAccess(`${last.token}x${i}`)
    expect(jwt.cached).toBeLessThanOrEqual(8)
  })
})

describe('rotating SECRET_KEY logs nobody out', () => {
  test('a session token minted with the old key works after the rotation; without the old key it is a 401', async () => {
    const before = await createTestApp({ env: { SECRET_KEY: OLD } })
    const user = await createUser(before)
    expect((await before.req('GET', '/api/v1/users/me', { token: user.token })).status).toBe(200)

    const after = await createTestApp({ env: { SECRET_KEY: NEW, JWT_PREVIOUS_SECRETS: `${OLD}` } })
    const me = await after.req('GET', '/api/v1/users/me', { token: user.token })
    expect(me.status).toBe(200)
    expect(me.body.id).toBe(user.id)

    const forgot = await createTestApp({ env: { SECRET_KEY: NEW } })
    expectProblem(await forgot.req('GET', '/api/v1/users/me', { token: user.token }), 401, 'unauthorized')
  })

  test('JWT_PREVIOUS_SECRETS takes a comma or space list and is never printed in errors', () => {
    const s = loadSettings({
      env: { SECRET_KEY: TEST_SECRET, JWT_PREVIOUS_SECRETS: ` ${OLD}, ${NEW}  ` },
      dotenvPath: null,
    })
    expect(s.jwtPreviousSecrets).toEqual([OLD, NEW])
    expect(loadSettings({ env: { SECRET_KEY: TEST_SECRET }, dotenvPath: null }).jwtPreviousSecrets).toEqual(
      [],
    )
    const weak = 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk'
    let message = ''
    try {
      loadSettings({
        env: {
          ENVIRONMENT: 'production',
          SECRET_KEY: 'Zq3vN8pL2xW7rT5yK1mB4cH6jF9dS0gA',
          SMTP_URL: 'smtp://127.0.0.1:25',
          JWT_PREVIOUS_SECRETS: `short,${weak}`,
        },
        dotenvPath: null,
      })
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).toContain('JWT_PREVIOUS_SECRETS')
    expect(message).not.toContain('short')
    expect(message).not.toContain(weak)
  })
})
