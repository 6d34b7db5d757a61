import { describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { ConfigError, estimateSecretBits, loadSettings, MIN_SECRET_BITS } from '../../src/config'

/** Production settings that are valid apart from what a test passes. */
const production = (env: Record<string, string>) =>
  loadSettings({
    env: { ENVIRONMENT: 'production', MAIL_TRANSPORT: 'log', ...env },
    dotenvPath: null,
    persistSecret: false,
  })

function secretProblems(secret: string): string[] {
  try {
    production({ SECRET_KEY: secret })
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.filter((p) => p.startsWith('SECRET_KEY:'))
    throw e
  }
  return []
}

/** Keys of 32+ characters that a person might type: every one must be refused in production. */
const GUESSABLE = [
  'k'.repeat(32),
  'k'.repeat(200),
  'ab'.repeat(16),
  'xX'.repeat(16),
  'abc'.repeat(11),
  'abcdefghijklmnopqrstuvwxyz012345',
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl',
  'zyxwvutsrqponmlkjihgfedcba987654',
  '0123456789'.repeat(4),
  'acegikmoqsuwyACEGIKMOQSUWY02468ace',
  'aaaabbbbccccddddeeeeffffgggghhhh',
  'aabbccddeeffgghhiijjkkllmmnnoopp',
  'password'.repeat(4),
  'secret12'.repeat(4),
  'changeme-changeme-changeme-changeme',
  'Password1!Password1!Password1!Pa',
  `${'a'.repeat(40)}b`,
]

describe('SECRET_KEY in production needs real entropy', () => {
  test.each(GUESSABLE)('refuses %p, says how to generate one, never prints the value', (secret) => {
    const problems = secretProblems(secret)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toStartWith('SECRET_KEY: is too predictable for production')
    expect(problems[0]).toContain('openssl rand -base64 48')
    expect(problems[0]).toContain(
      "bun -e \"console.log(require('crypto').randomBytes(48).toString('base64url'))\"",
    )
    expect(problems[0]).not.toContain(secret.slice(0, 8))
    expect(estimateSecretBits(secret)).toBeLessThan(MIN_SECRET_BITS)
  })

  test('missing and short keys say how to generate one too', () => {
    for (const [env, start] of [
      [{}, 'SECRET_KEY: is required in production'],
      [{ SECRET_KEY: 'Zq8#vL2!pW9@' }, 'SECRET_KEY: must be at least 32 characters in production'],
    ] as const) {
      let problems: string[] = []
      try {
        production(env)
      } catch (e) {
        problems = (e as ConfigError).problems
      }
      const line = problems.find((p) => p.startsWith('SECRET_KEY:'))!
      expect(line).toStartWith(start)
      expect(line).toContain('openssl rand -base64 48')
      expect(line).not.toContain('Zq8#vL2!pW9@')
    }
  })

  test('accepts what the suggested commands and other random generators produce', () => {
    const formats: Record<string, () => string> = {
      'openssl rand -base64 48': () => randomBytes(48).toString('base64'),
      'base64url of 48 bytes': () => randomBytes(48).toString('base64url'),
      'openssl rand -hex 32': () => randomBytes(32).toString('hex'),
      'openssl rand -hex 16 (32 hex digits, the shortest accepted)': () => randomBytes(16).toString('hex'),
      'upper-case hex, 32': () => randomBytes(16).toString('hex').toUpperCase(),
      'base64 of 24 bytes (32 chars)': () => randomBytes(24).toString('base64'),
      '32 random decimal digits': () => Array.from(randomBytes(32), (b) => String(b % 10)).join(''),
    }
    for (const [name, make] of Object.entries(formats)) {
      for (let i = 0; i < 2000; i++) {
        const key = make()
        const bits = estimateSecretBits(key)
        if (bits < MIN_SECRET_BITS) throw new Error(`${name}: a random key scored ${bits} bits`)
      }
    }
    const s = production({ SECRET_KEY: randomBytes(48).toString('base64') })
    expect(s.SECRET_KEY.length).toBe(64)
    expect(s.secretGenerated).toBe(false)
  })

  test('passphrase-like keys with enough diversity pass (the check is a floor, not a proof)', () => {
    expect(secretProblems('test-secret-key-that-is-long-enough-0123456789')).toEqual([])
  })

  test('development and test keep any SECRET_KEY and still generate one into DATA_DIR', () => {
    for (const ENVIRONMENT of ['development', 'test']) {
      const s = loadSettings({ env: { ENVIRONMENT, SECRET_KEY: 'k'.repeat(32) }, dotenvPath: null })
      expect(s.SECRET_KEY).toBe('k'.repeat(32))
    }
    const generated = loadSettings({ env: {}, dotenvPath: null, persistSecret: false })
    expect(generated.secretGenerated).toBe(true)
    expect(estimateSecretBits(generated.SECRET_KEY)).toBeGreaterThanOrEqual(MIN_SECRET_BITS)
  })

  test('the estimate is bounded: a very long key is analysed quickly', () => {
    const started = performance.now()
    estimateSecretBits(randomBytes(1 << 20).toString('base64'))
    expect(performance.now() - started).toBeLessThan(500)
  })
})
