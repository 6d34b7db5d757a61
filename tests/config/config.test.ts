import { describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, corsOrigins, loadSettings, parseDotenv } from '../../src/config'

const STRONG = 'n3B-q8Zr_Wk1xT5vL0cYp7Hs2Jd9Fm4Ga6Ue'
const tmp = () => mkdtempSync(join(tmpdir(), 'tb-config-'))

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadSettings({ env, dotenvPath: null, persistSecret: false })
  } catch (e) {
    if (e instanceof ConfigError) return e.problems
    throw e
  }
  return []
}

describe('loadSettings', () => {
  test('applies defaults and coerces numbers and booleans from strings', () => {
    const s = loadSettings({ env: { PORT: '9000', TRUST_PROXY: 'yes', SECRET_KEY: 'x' }, dotenvPath: null })
    expect(s.PORT).toBe(9000)
    expect(s.trustProxy).toEqual({ kind: 'hops', hops: 1 })
    expect(s.DB_POOL_MAX).toBe(10)
    expect(s.MAX_BODY_BYTES).toBe(1_048_576)
    expect(s.SHUTDOWN_TIMEOUT_MS).toBe(10_000)
    expect(s.ENVIRONMENT).toBe('development')
    expect(s.DOCS_ENABLED).toBe(true)
    expect(s.DATABASE_URL).toBeUndefined()
  })

  test('reports every bad value at once, one line each', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DB_POOL_MAX: '0',
      ENVIRONMENT: 'staging',
      TRUST_PROXY: 'maybe',
      JOBS_TYPE_CONCURRENCY: 'mail=0',
    })
    expect(problems).toHaveLength(5)
    expect(problems.some((p) => p.startsWith('JOBS_TYPE_CONCURRENCY:'))).toBe(true)
    expect(problems.find((p) => p.startsWith('PORT:'))).toContain('"eighty"')
    expect(problems.some((p) => p.startsWith('DB_POOL_MAX:'))).toBe(true)
    expect(problems.some((p) => p.startsWith('ENVIRONMENT:'))).toBe(true)
    expect(problems.some((p) => p.startsWith('TRUST_PROXY:'))).toBe(true)
  })

  test('never prints the value of a secret', () => {
    const problems = problemsOf({
      DATABASE_URL: 'mysql://root:hunter2@db/x',
      ENVIRONMENT: 'production',
      SECRET_KEY: 'short-hunter3',
    })
    expect(problems.join('\n')).not.toContain('hunter2')
    expect(problems.join('\n')).not.toContain('hunter3')
    expect(problems.some((p) => p.startsWith('DATABASE_URL:') && p.includes('(hidden)'))).toBe(true)
    expect(problems.find((p) => p.startsWith('SECRET_KEY:'))).toStartWith(
      'SECRET_KEY: must be at least 32 characters in production; generate one with',
    )
  })

  test('production requires a long random SECRET_KEY, refuses CORS_ORIGINS=* and turns docs off', () => {
    expect(problemsOf({ ENVIRONMENT: 'production', MAIL_TRANSPORT: 'log' })).toEqual([
      'SECRET_KEY: is required in production; generate one with `openssl rand -base64 48` or ' +
        "`bun -e \"console.log(require('crypto').randomBytes(48).toString('base64url'))\"`",
    ])
    expect(
      problemsOf({ ENVIRONMENT: 'production', SECRET_KEY: 'k'.repeat(32), MAIL_TRANSPORT: 'log' })[0],
    ).toStartWith('SECRET_KEY: is too predictable for production')
    const production = { ENVIRONMENT: 'production', SECRET_KEY: STRONG, MAIL_TRANSPORT: 'log' }
    expect(problemsOf({ ...production, CORS_ORIGINS: '*' })).toEqual([
      'CORS_ORIGINS: "*" is not allowed in production',
    ])
    const s = loadSettings({ env: production, dotenvPath: null })
    expect(s.DOCS_ENABLED).toBe(false)
    const on = loadSettings({ env: { ...production, DOCS_ENABLED: 'true' }, dotenvPath: null })
    expect(on.DOCS_ENABLED).toBe(true)
  })

  test('rejects malformed CORS origins and parses good ones', () => {
    expect(problemsOf({ CORS_ORIGINS: 'https://a.example,javascript:alert(1)' })[0]).toStartWith(
      'CORS_ORIGINS:',
    )
    const s = loadSettings({
      env: { CORS_ORIGINS: 'https://a.example, http://localhost:3000' },
      dotenvPath: null,
      persistSecret: false,
    })
    expect(corsOrigins(s)).toEqual(['https://a.example', 'http://localhost:3000'])
    expect(
      corsOrigins(loadSettings({ env: { CORS_ORIGINS: '*' }, dotenvPath: null, persistSecret: false })),
    ).toBe(true)
  })

  test('generates SECRET_KEY once in DATA_DIR (mode 0600) and reuses it on the next start', () => {
    const dir = join(tmp(), 'data')
    const a = loadSettings({ env: { DATA_DIR: dir }, dotenvPath: null })
    const b = loadSettings({ env: { DATA_DIR: dir }, dotenvPath: null })
    expect(a.secretGenerated).toBe(true)
    expect(a.SECRET_KEY.length).toBeGreaterThanOrEqual(32)
    expect(b.SECRET_KEY).toBe(a.SECRET_KEY)
    expect(readFileSync(join(dir, 'secret_key'), 'utf8').trim()).toBe(a.SECRET_KEY)
    expect(statSync(join(dir, 'secret_key')).mode & 0o777).toBe(0o600)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
  })

  test('reads .env, with real environment variables taking precedence', () => {
    const file = join(tmp(), '.env')
    writeFileSync(
      file,
      '# comment\nPORT=7000\nexport LOG_LEVEL="warn"\nHOST=127.0.0.1 # inline\nSECRET_KEY=\'from-file\'\n',
    )
    const s = loadSettings({ env: { PORT: '7100' }, dotenvPath: file })
    expect(s.PORT).toBe(7100)
    expect(s.LOG_LEVEL).toBe('warn')
    expect(s.HOST).toBe('127.0.0.1')
    expect(s.SECRET_KEY).toBe('from-file')
  })

  test('parseDotenv ignores garbage lines', () => {
    expect(parseDotenv('=x\nnot a line\nA=1\n\nB = two words ')).toEqual({ A: '1', B: 'two words' })
  })
})

test('PASSWORD_HASH_CONCURRENCY 0 (the default) leaves one core to requests, between 1 and 4', async () => {
  const { autoHashConcurrency } = await import('../../src/config')
  expect([1, 2, 3, 8, 64].map((c) => autoHashConcurrency(c))).toEqual([1, 1, 2, 4, 4])
  const auto = loadSettings({ env: {}, dotenvPath: null, persistSecret: false })
  expect(auto.PASSWORD_HASH_CONCURRENCY).toBe(autoHashConcurrency())
  const set = loadSettings({
    env: { PASSWORD_HASH_CONCURRENCY: '3' },
    dotenvPath: null,
    persistSecret: false,
  })
  expect(set.PASSWORD_HASH_CONCURRENCY).toBe(3)
})
