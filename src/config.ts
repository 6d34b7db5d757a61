import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { type Static, Type as T } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { parseTrustProxy, type TrustProxy } from './lib/client-ip'

const Int = (def: number, min: number, max: number, description: string) =>
  T.Integer({ default: def, minimum: min, maximum: max, description })
const Bool = (def: boolean, description: string) => T.Boolean({ default: def, description })

/** Attachment types allowed by default (API.md, Attachments). */
export const DEFAULT_ATTACHMENT_TYPES =
  'image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/csv,application/json,application/zip'

/** Every setting Taskbase reads, with its default. The README's configuration table is generated from this. */
export const SettingsSchema = T.Object({
  ENVIRONMENT: T.Union([T.Literal('development'), T.Literal('production'), T.Literal('test')], {
    default: 'development',
    description: 'development, production or test',
  }),
  HOST: T.String({ default: '0.0.0.0', minLength: 1, description: 'Interface to listen on' }),
  PORT: Int(8000, 0, 65535, 'TCP port'),
  DATA_DIR: T.String({
    default: './data',
    minLength: 1,
    description: 'Embedded database and generated secret',
  }),
  DATABASE_URL: T.Optional(
    T.String({ pattern: '^postgres(ql)?://', description: 'PostgreSQL URL; unset = embedded database' }),
  ),
  DB_POOL_MAX: Int(10, 1, 1000, 'postgres.js pool size per instance'),
  DB_STATEMENT_TIMEOUT_MS: Int(30_000, 0, 3_600_000, 'PostgreSQL statement_timeout (0 = none)'),
  AUTH_CACHE_SIZE: Int(
    10_000,
    0,
    1_000_000,
    "Checked bearer tokens, and callers' project access, the embedded server keeps in memory (each cache; exact: a change to a user, session, token, project or membership drops its entries at once); 0 = off. PostgreSQL mode never caches",
  ),
  SECRET_KEY: T.Optional(
    T.String({
      minLength: 1,
      description: 'JWT signing key (production: >= 32 random characters, e.g. `openssl rand -base64 48`)',
    }),
  ),
  JWT_PREVIOUS_SECRETS: T.String({
    default: '',
    description:
      'Earlier SECRET_KEYs, comma or space separated: their access tokens stay valid until they expire, so rotating the key logs nobody out',
  }),
  JWT_ALGORITHM: T.Union([T.Literal('HS256'), T.Literal('HS384'), T.Literal('HS512')], {
    default: 'HS256',
    description: 'HMAC algorithm of access tokens',
  }),
  ACCESS_TOKEN_TTL_SECONDS: Int(900, 30, 86_400, 'Access token lifetime'),
  REFRESH_TOKEN_TTL_SECONDS: Int(604_800, 60, 31_536_000, 'Refresh token / session lifetime'),
  REFRESH_REUSE_GRACE_SECONDS: Int(10, 0, 300, 'Window in which a used refresh token still works (0 = off)'),
  PASSWORD_HASH_CONCURRENCY: Int(
    0,
    0,
    64,
    'Argon2id hashes at once (64 MiB each); 0 = CPU cores - 1, from 1 to 4',
  ),
  PASSWORD_HASH_MEMORY_KIB: Int(65_536, 8_192, 1_048_576, 'Argon2id memory cost'),
  PASSWORD_HASH_TIME_COST: Int(2, 1, 10, 'Argon2id iterations'),
  CORS_ORIGINS: T.String({ default: '', description: 'Comma list of allowed browser origins; * = any' }),
  MAX_BODY_BYTES: Int(1_048_576, 1_024, 1_073_741_824, 'Largest JSON request body'),
  SHUTDOWN_TIMEOUT_MS: Int(10_000, 0, 600_000, 'Grace period for in-flight requests on SIGTERM'),
  SHUTDOWN_DELAY_MS: Int(
    0,
    0,
    60_000,
    'On SIGTERM, keep accepting requests this long while /ready answers 503, so a load balancer takes the instance out first',
  ),
  LOG_LEVEL: T.Union([T.Literal('debug'), T.Literal('info'), T.Literal('warn'), T.Literal('error')], {
    default: 'info',
    description: 'debug, info, warn or error',
  }),
  DOCS_ENABLED: T.Optional(T.Boolean({ description: 'Serve /docs (default: on, off in production)' })),
  TRUST_PROXY: T.String({
    default: 'false',
    description:
      'Which X-Forwarded-For entries to believe for the client IP: false; true (one proxy); a hop count; or a comma list of proxy addresses/CIDRs',
  }),
  PUBLIC_URL: T.String({ default: 'http://localhost:8000', description: 'Base URL used in emailed links' }),
  SMTP_URL: T.Optional(
    T.String({
      pattern: '^smtps?://',
      description: 'SMTP server; required in production unless MAIL_TRANSPORT=log',
    }),
  ),
  MAIL_TRANSPORT: T.Optional(
    T.Union([T.Literal('smtp'), T.Literal('log')], {
      description:
        'smtp or log (default: smtp when SMTP_URL is set, else log); log in production delivers nothing and logs no mail text',
    }),
  ),
  MAIL_FROM: T.String({
    default: 'Taskbase <no-reply@taskbase.local>',
    description: 'Sender of outgoing mail',
  }),
  REDIS_URL: T.Optional(
    T.String({
      pattern: '^rediss?://',
      description: 'Redis for rate limits shared by every instance; unset = per-instance memory',
    }),
  ),
  REGISTER_LIMIT_PER_HOUR: Int(
    10,
    1,
    1_000_000,
    'Registrations per client IP and hour (raise it for offices behind one NAT address)',
  ),
  METRICS_ENABLED: Bool(false, 'Serve Prometheus metrics at /metrics'),
  METRICS_PORT: Int(
    0,
    0,
    65_535,
    'Serve /metrics on this port only, never with the API (0 = on the API port)',
  ),
  RATE_LIMIT_READS_PER_MINUTE: Int(
    600,
    0,
    1_000_000,
    'Authenticated GET requests per user (session) or API token and minute; 0 = no limit',
  ),
  RATE_LIMIT_WRITES_PER_MINUTE: Int(
    600,
    0,
    1_000_000,
    'Authenticated POST, PATCH, PUT and DELETE requests per user or API token and minute; 0 = no limit',
  ),
  RATE_LIMIT_EXPORTS_PER_MINUTE: Int(
    10,
    0,
    1_000_000,
    'Task exports per user or API token and minute; 0 = no limit',
  ),
  JOBS_ENABLED: Bool(
    true,
    'Run background jobs (mail, reports, purge) in this instance; false = API only, another instance works the queue',
  ),
  JOBS_CONCURRENCY: Int(8, 1, 256, 'Jobs running at once in this instance, all types together'),
  JOBS_TYPE_CONCURRENCY: T.String({
    default: '',
    pattern:
      '^$|^\\s*[a-z][a-z0-9_-]*\\s*=\\s*[1-9][0-9]{0,3}\\s*(,\\s*[a-z][a-z0-9_-]*\\s*=\\s*[1-9][0-9]{0,3}\\s*)*$',
    description:
      'Per-type limits within JOBS_CONCURRENCY, like `mail=4,report=2` (default: mail 2, report 1, purge 1; webhook 64, outside the total: deliveries wait on the network, not the CPU)',
  }),
  JOBS_POLL_INTERVAL_MS: Int(
    5_000,
    100,
    600_000,
    'Safety-net poll of the job queue (new jobs wake workers at once by NOTIFY)',
  ),
  JOBS_YIELD_AT_REQUESTS: Int(
    16,
    0,
    100_000,
    'With this many HTTP requests in flight, the instance runs one job at a time (jobs yield to the API); 0 = never',
  ),
  WEBHOOK_ALLOW_PRIVATE: Bool(
    false,
    'Allow webhook URLs that resolve to loopback, private, link-local or metadata addresses (tests, on-premises)',
  ),
  WEBHOOK_RETRY_SCHEDULE: T.String({
    default: '5s,1m,10m,1h,6h',
    pattern: '^\\s*[0-9]{1,6}(ms|s|m|h)\\s*(,\\s*[0-9]{1,6}(ms|s|m|h)\\s*){0,19}$',
    description:
      'Waits before each retry of a failed webhook delivery; after the last the delivery is failed',
  }),
  WEBHOOK_ENDPOINT_CONCURRENCY: Int(
    8,
    1,
    64,
    'Deliveries to one webhook endpoint in flight at once per instance (64 in all); more wait queued, so a slow endpoint holds only its own slots',
  ),
  WEBHOOK_TIMEOUT_MS: Int(
    10_000,
    100,
    60_000,
    'A webhook delivery not answered with a 2xx within this fails',
  ),
  MAX_UPLOAD_BYTES: Int(10_485_760, 1, 1_073_741_824, 'Largest attachment (checked while reading: 413)'),
  ATTACHMENT_TYPES: T.String({
    default: DEFAULT_ATTACHMENT_TYPES,
    pattern: '^\\s*[a-z0-9.+-]+/[a-z0-9.+-]+\\s*(,\\s*[a-z0-9.+-]+/[a-z0-9.+-]+\\s*)*$',
    description: 'Comma list of attachment types allowed, as decided from the bytes (others: 415)',
  }),
  ATTACHMENTS_DIR: T.Optional(
    T.String({
      minLength: 1,
      description: 'Where attachments are kept without S3 (default: DATA_DIR/attachments)',
    }),
  ),
  PROJECT_STORAGE_BYTES: Int(0, 0, 1e15, 'Attachment bytes per project (0 = no quota; over it: 413)'),
  S3_BUCKET: T.Optional(
    T.String({ minLength: 1, description: 'Keep attachments in this S3 bucket (unset = on disk)' }),
  ),
  S3_ENDPOINT: T.Optional(
    T.String({ pattern: '^https?://', description: 'S3-compatible endpoint (unset = AWS for S3_REGION)' }),
  ),
  S3_REGION: T.String({ default: 'us-east-1', minLength: 1, description: 'S3 region' }),
  S3_ACCESS_KEY_ID: T.Optional(T.String({ minLength: 1, description: 'S3 access key id' })),
  S3_SECRET_ACCESS_KEY: T.Optional(T.String({ minLength: 1, description: 'S3 secret access key' })),
  S3_PREFIX: T.String({
    default: 'attachments/',
    description: 'Key prefix of attachment objects in the bucket',
  }),
  REALTIME_MAX_CONNECTIONS: Int(10_000, 0, 1_000_000, 'Open WebSockets per instance, authenticated or not'),
  REALTIME_MAX_CONNECTIONS_PER_USER: Int(20, 1, 10_000, 'Open WebSockets per user, per instance'),
  REALTIME_MAX_SUBSCRIPTIONS: Int(100, 1, 10_000, 'Project subscriptions per WebSocket'),
  REALTIME_SEND_BUFFER_BYTES: Int(
    1024 * 1024,
    16 * 1024,
    256 * 1024 * 1024,
    'Unsent bytes a WebSocket may hold; a client that reads slower is disconnected (close 4009)',
  ),
  REALTIME_IDLE_TIMEOUT_SECONDS: Int(
    60,
    8,
    960,
    'A WebSocket silent this long is closed; the server pings shortly before, and a pong counts',
  ),
  REALTIME_AUTH_TIMEOUT_MS: Int(5_000, 100, 60_000, 'Time for the first `auth` message of a WebSocket'),
  REALTIME_RECHECK_MS: Int(
    1_000,
    50,
    60_000,
    'How often open WebSockets re-check their session or token (logout, revocation, deactivation close them)',
  ),
  REALTIME_REPLAY_MAX: Int(
    10_000,
    1,
    1_000_000,
    'Most events a `subscribe` with `since` replays; more missed means `resync_required`',
  ),
  WEBHOOK_DELIVERY_RETENTION_DAYS: Int(
    30,
    1,
    3650,
    'Finished webhook deliveries (their log) are kept this many days',
  ),
})

export type Settings = Static<typeof SettingsSchema> & {
  SECRET_KEY: string
  /** Resolved: smtp when SMTP_URL is set and log was not chosen explicitly. */
  MAIL_TRANSPORT: 'smtp' | 'log'
  DOCS_ENABLED: boolean
  /** True when SECRET_KEY was generated and kept in DATA_DIR rather than configured. */
  secretGenerated: boolean
  /** JWT_PREVIOUS_SECRETS as a list. */
  jwtPreviousSecrets: string[]
  /** TRUST_PROXY, parsed. */
  trustProxy: TrustProxy
  /** WEBHOOK_RETRY_SCHEDULE in milliseconds. */
  webhookRetryScheduleMs: number[]
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

const SECRET_NAMES = new Set(['SECRET_KEY', 'JWT_PREVIOUS_SECRETS', 'DATABASE_URL', 'SMTP_URL', 'REDIS_URL'])

/** Reads a .env file (KEY=value lines, optional quotes, # comments). Real environment variables win. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const m = line.match(/^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/)
    if (!m) continue
    let value = m[2] ?? ''
    const quoted = value.match(/^(['"])(.*)\1$/)
    if (quoted) value = quoted[2] ?? ''
    else value = value.replace(/\s+#.*$/, '')
    out[m[1]!] = value
  }
  return out
}

function coerce(raw: Record<string, string | undefined>) {
  const props = SettingsSchema.properties as Record<string, { type?: string; anyOf?: unknown }>
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(props)) {
    const v = raw[key]
    if (v === undefined || v === '') continue
    const type = props[key]?.type
    if (type === 'integer') out[key] = /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v
    else if (type === 'boolean') {
      const b = v.trim().toLowerCase()
      out[key] = ['true', '1', 'yes', 'on'].includes(b)
        ? true
        : ['false', '0', 'no', 'off'].includes(b)
          ? false
          : v
    } else out[key] = v
  }
  return out
}

function describe(key: string, message: string, value: unknown) {
  const shown = SECRET_NAMES.has(key) ? '(hidden)' : JSON.stringify(value)
  return `${key}: ${message} (got ${shown})`
}

export interface LoadOptions {
  env?: Record<string, string | undefined>
  /** Path of a .env file; its values apply only where env has none. */
  dotenvPath?: string | null
  /** Allows generating and persisting SECRET_KEY in DATA_DIR when it is missing (development and test). */
  persistSecret?: boolean
}

/** Validates the whole environment at once; throws ConfigError listing every bad value (never a secret's value). */
export function loadSettings(opts: LoadOptions = {}): Settings {
  const env = { ...(opts.env ?? process.env) }
  const dotenvPath = opts.dotenvPath === undefined ? '.env' : opts.dotenvPath
  if (dotenvPath && existsSync(dotenvPath)) {
    for (const [k, v] of Object.entries(parseDotenv(readFileSync(dotenvPath, 'utf8')))) env[k] ??= v
  }
  const input = Value.Default(SettingsSchema, coerce(env)) as Record<string, unknown>
  const problems: string[] = []
  for (const err of Value.Errors(SettingsSchema, input)) {
    const key = err.path.replace(/^\//, '')
    if (problems.some((p) => p.startsWith(`${key}:`))) continue
    problems.push(describe(key, err.message.toLowerCase(), err.value))
  }
  const s = input as Static<typeof SettingsSchema>
  const production = s.ENVIRONMENT === 'production'
  const jwtPreviousSecrets = s.JWT_PREVIOUS_SECRETS.split(/[\s,]+/).filter(Boolean)
  if (production) {
    const weakness = secretKeyWeakness(s.SECRET_KEY)
    if (weakness) problems.push(`SECRET_KEY: ${weakness}; ${GENERATE_SECRET_HINT}`)
    // an old key still signs valid tokens: it must have been strong enough to be a key
    jwtPreviousSecrets.forEach((old, i) => {
      const why = secretKeyWeakness(old)
      if (why) problems.push(`JWT_PREVIOUS_SECRETS: entry ${i + 1} ${why}`)
    })
    if (!s.SMTP_URL && s.MAIL_TRANSPORT !== 'log')
      problems.push(
        'SMTP_URL: is required in production (password-reset and verification mail); ' +
          'or set MAIL_TRANSPORT=log to run without delivering mail',
      )
    if (s.CORS_ORIGINS.split(',').some((o) => o.trim() === '*'))
      problems.push('CORS_ORIGINS: "*" is not allowed in production')
  }
  for (const origin of s.CORS_ORIGINS.split(',').map((o) => o.trim())) {
    if (origin && origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin))
      problems.push(describe('CORS_ORIGINS', 'each origin must look like https://host[:port]', origin))
  }
  const trustProxy = parseTrustProxy(s.TRUST_PROXY)
  if ('error' in trustProxy) problems.push(`TRUST_PROXY: ${trustProxy.error}`)
  if (s.MAIL_TRANSPORT === 'smtp' && !s.SMTP_URL)
    problems.push('SMTP_URL: is required when MAIL_TRANSPORT=smtp')
  if (problems.length) throw new ConfigError(problems)

  let secret = s.SECRET_KEY
  let secretGenerated = false
  if (!secret) {
    if (opts.persistSecret === false)
      secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')
    else secret = ensureGeneratedSecret(resolve(s.DATA_DIR))
    secretGenerated = true
  }
  return {
    ...s,
    PASSWORD_HASH_CONCURRENCY: s.PASSWORD_HASH_CONCURRENCY || autoHashConcurrency(),
    SECRET_KEY: secret,
    MAIL_TRANSPORT: s.MAIL_TRANSPORT ?? (s.SMTP_URL ? 'smtp' : 'log'),
    DOCS_ENABLED: s.DOCS_ENABLED ?? !production,
    secretGenerated,
    jwtPreviousSecrets,
    trustProxy: trustProxy as TrustProxy,
    webhookRetryScheduleMs: parseDurations(s.WEBHOOK_RETRY_SCHEDULE),
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }

/** `5s, 1m, 10m` (format checked by the settings schema) in milliseconds. */
export function parseDurations(spec: string): number[] {
  return spec.split(',').map((part) => {
    const [, n, unit] = part.trim().match(/^([0-9]+)(ms|s|m|h)$/)!
    return Number(n) * UNIT_MS[unit!]!
  })
}

const GENERATE_SECRET_HINT =
  'generate one with `openssl rand -base64 48` or ' +
  "`bun -e \"console.log(require('crypto').randomBytes(48).toString('base64url'))\"`"

/**
 * Floor for estimateSecretBits in production. Random keys clear it by a wide margin (lowest of
 * 100,000 samples each: 32 hex digits 98, 32 base64 characters 134, even 32 decimal digits 80),
 * while repeated, sequential and low-diversity keys score far below (32 identical characters 0,
 * `abcd…` 7, `password` x4 42, `changeme-` x4 59, `Password1!` x3.2 72).
 */
export const MIN_SECRET_BITS = 75

/** Only this many characters are analysed: the estimate is O(n^2) at worst, and 256 is plenty. */
const ANALYSED_CHARS = 256

/** Shannon entropy of the empirical distribution times the count, Miller-Madow corrected, in bits. */
function shannonBits(xs: readonly (string | number)[]): number {
  const counts = new Map<string | number, number>()
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1)
  let h = 0
  for (const n of counts.values()) h -= (n / xs.length) * Math.log2(n / xs.length)
  return h * xs.length + (counts.size - 1) / (2 * Math.LN2)
}

/** log2 of the size of the character classes the key uses (digits, lower, upper, other). */
function bitsPerChar(chars: readonly string[]): number {
  const text = chars.join('')
  const pool =
    (/[0-9]/.test(text) ? 10 : 0) +
    (/[a-z]/.test(text) ? 26 : 0) +
    (/[A-Z]/.test(text) ? 26 : 0) +
    (/[^0-9a-zA-Z]/.test(text) ? 33 : 0)
  return Math.log2(Math.max(pool, 2))
}

/** Tokens of a greedy LZ77 parse: a repeat of 3+ earlier characters costs one token. */
function lzTokens(chars: readonly string[]): number {
  let tokens = 0
  for (let i = 0; i < chars.length; tokens++) {
    let longest = 0
    for (let j = 0; j < i; j++) {
      let n = 0
      while (i + n < chars.length && chars[j + n] === chars[i + n]) n++
      longest = Math.max(longest, n)
    }
    i += longest >= 3 ? longest : 1
  }
  return tokens
}

/**
 * A conservative estimate of how guessable a key is, in bits: the least of (1) the entropy of its
 * characters (few distinct characters), (2) the entropy of the steps between neighbouring
 * characters (runs such as `aaaa`, `abcd`, `aabbcc`, `acegi`) and (3) the size of a greedy LZ77
 * parse times the bits of its character classes (repeated chunks such as `secret12secret12`).
 * It cannot recognise words: a long passphrase passes. It is a floor, not a proof of randomness.
 */
export function estimateSecretBits(key: string): number {
  const chars = [...key].slice(0, ANALYSED_CHARS)
  const codes = chars.map((c) => c.codePointAt(0) ?? 0)
  const steps = codes.slice(1).map((c, i) => c - (codes[i] ?? 0))
  return Math.min(shannonBits(chars), shannonBits(steps), lzTokens(chars) * bitsPerChar(chars))
}

/** Why a production SECRET_KEY is refused (never quoting it), or undefined when it is fine. */
function secretKeyWeakness(key: string | undefined): string | undefined {
  if (!key) return 'is required in production'
  if (key.length < 32) return 'must be at least 32 characters in production'
  if (estimateSecretBits(key) < MIN_SECRET_BITS)
    return 'is too predictable for production (repeated, sequential or too few distinct characters)'
  return undefined
}

/** Creates DATA_DIR (0700) and a random secret in it once, so tokens survive restarts in development. */
export function ensureGeneratedSecret(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const path = join(dataDir, 'secret_key')
  if (existsSync(path)) {
    const existing = readFileSync(path, 'utf8').trim()
    if (existing.length >= 32) return existing
  }
  const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString('base64url')
  writeFileSync(path, `${secret}\n`, { mode: 0o600 })
  return secret
}

/**
 * Hashing leaves one core to the request path: on 2 cores, two concurrent argon2id hashes starved
 * everything else (GET /users/me p99 2.5x during a login storm); one kept it under 2x.
 */
export function autoHashConcurrency(cores = availableParallelism()): number {
  return Math.min(4, Math.max(1, cores - 1))
}

export function corsOrigins(settings: Settings): string[] | true {
  const list = settings.CORS_ORIGINS.split(',')
    .map((o) => o.trim())
    .filter(Boolean)
  return list.includes('*') ? true : list
}
