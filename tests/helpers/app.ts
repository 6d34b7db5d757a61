import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from '../../src/app'
import { loadSettings, type Settings } from '../../src/config'
import type { Database } from '../../src/db/client'
import { sessions, type UserRole, users } from '../../src/db/schema'
import type { AppDeps } from '../../src/deps'
import { ERROR_CODES, type ErrorCode } from '../../src/lib/errors'
import { memoryLogger } from '../../src/lib/logger'
import { createJwt } from '../../src/modules/identity/access-tokens'
import { testDatabase } from './db'
import { recordStatus } from './status-recorder'

export const TEST_SECRET = 'test-secret-key-that-is-long-enough-0123456789'
export const TEST_PASSWORD = 'Sup3r-Secret!'
export const TEST_ATTACHMENTS_DIR = join(tmpdir(), `taskbase-test-attachments-${process.pid}`)

export function testSettings(env: Record<string, string> = {}): Settings {
  return loadSettings({
    env: {
      ENVIRONMENT: 'test',
      SECRET_KEY: TEST_SECRET,
      PASSWORD_HASH_MEMORY_KIB: '8192',
      PASSWORD_HASH_TIME_COST: '1',
      // suites make thousands of requests as one user; tests/lib/api-limits.test.ts turns these on
      RATE_LIMIT_READS_PER_MINUTE: '0',
      RATE_LIMIT_WRITES_PER_MINUTE: '0',
      RATE_LIMIT_EXPORTS_PER_MINUTE: '0',
      LOG_LEVEL: 'debug',
      // never under the working directory's ./data
      ATTACHMENTS_DIR: TEST_ATTACHMENTS_DIR,
      ...env,
    },
    dotenvPath: null,
  })
}

export interface RequestOptions {
  /** JSON-encoded, except a FormData (sent as multipart) and `raw` strings. */
  body?: unknown
  token?: string
  headers?: Record<string, string>
  /** Send `body` as-is (a string) instead of JSON-encoding it. */
  raw?: boolean
}

export interface TestResponse<T = any> {
  status: number
  headers: Headers
  body: T
  text: string
}

export type TestContext = Awaited<ReturnType<typeof createTestApp>>

/** The real app on the shared test database, a memory logger, and request helpers. */
export async function createTestApp(opts: { env?: Record<string, string>; deps?: Partial<AppDeps> } = {}) {
  const database: Database = await testDatabase()
  const settings = testSettings(opts.env)
  const log = memoryLogger('debug')
  const deps: AppDeps = {
    settings,
    database,
    logger: log.logger,
    lifecycle: { shuttingDown: false },
    ...opts.deps,
  }
  const app = createApp(deps)
  const jwt = createJwt(settings.SECRET_KEY, settings.JWT_ALGORITHM, settings.jwtPreviousSecrets)

  async function req<T = any>(
    method: string,
    path: string,
    o: RequestOptions = {},
  ): Promise<TestResponse<T>> {
    const headers: Record<string, string> = { ...o.headers }
    if (o.token) headers.authorization = `Bearer ${o.token}`
    let body: string | FormData | undefined
    if (o.body instanceof FormData)
      body = o.body // multipart: fetch sets the type and boundary
    else if (o.body !== undefined) {
      body = o.raw ? String(o.body) : JSON.stringify(o.body)
      headers['content-type'] ??= 'application/json'
    }
    const url = path.startsWith('http') ? path : `http://localhost${path}`
    const res = await app.handle(new Request(url, { method, headers, body }))
    // checked against the OpenAPI document after the last test file (see preload.ts)
    recordStatus(method, url, res.status)
    const text = await res.text()
    let parsed: unknown = text
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {}
    return { status: res.status, headers: res.headers, body: parsed as T, text }
  }

  return { app, deps, settings, database, db: database.db, jwt, logs: log, req }
}

let seq = 0
/** Unique per process and test run, so tests never collide on the shared database. */
export function unique(prefix = 'u'): string {
  seq++
  return `${prefix}${Date.now().toString(36)}${seq}${Math.floor(Math.random() * 1e6).toString(36)}`
}

let passwordHash: Promise<string> | undefined

export interface TestUser {
  id: string
  email: string
  username: string
  role: UserRole
  token: string
  sessionId: string
  password: string
}

/**
 * Inserts a user with a live session and returns an access token for it: fast setup for tests
 * of other features. Identity's own tests use the real register and login endpoints.
 */
export async function createUser(
  ctx: Pick<TestContext, 'db' | 'jwt' | 'settings'>,
  o: { role?: UserRole; isActive?: boolean; fullName?: string } = {},
): Promise<TestUser> {
  passwordHash ??= Bun.password.hash(TEST_PASSWORD, { algorithm: 'argon2id', memoryCost: 8192, timeCost: 1 })
  const name = unique('user')
  const [user] = await ctx.db
    .insert(users)
    .values({
      email: `${name}@example.com`,
      username: name,
      fullName: o.fullName ?? `Test ${name}`,
      passwordHash: await passwordHash,
      role: o.role ?? 'user',
      isActive: o.isActive ?? true,
    })
    .returning()
  const [session] = await ctx.db
    .insert(sessions)
    .values({
      userId: user!.id,
      expiresAt: new Date(Date.now() + 3_600_000),
      userAgent: 'bun-test',
      ip: '127.0.0.1',
    })
    .returning()
  const { token } = await ctx.jwt.signAccess(user!.id, session!.id, ctx.settings.ACCESS_TOKEN_TTL_SECONDS)
  return {
    id: user!.id,
    email: user!.email,
    username: user!.username,
    role: user!.role,
    token,
    sessionId: session!.id,
    password: TEST_PASSWORD,
  }
}

/** Asserts a problem+json error with the given status and code; returns the body for more checks. */
export function expectProblem(res: TestResponse, status: number, code?: string) {
  const ct = res.headers.get('content-type') ?? ''
  if (
    res.status !== status ||
    !ct.startsWith('application/problem+json') ||
    (code && res.body?.code !== code)
  ) {
    throw new Error(
      `expected problem ${status}${code ? ` ${code}` : ''}, got ${res.status} ${ct}: ${res.text}`,
    )
  }
  // every problem's code is one of the closed set, with the status the set gives it (issue 8 #5)
  const known = ERROR_CODES[res.body?.code as ErrorCode]
  if (known?.status !== res.status)
    throw new Error(`problem code ${res.body?.code} is not the closed set's for ${res.status}`)
  return res.body as {
    status: number
    code: string
    detail: string
    errors?: { field: string; message: string }[]
  }
}
