import { beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { users } from '../../../src/db/schema'
import { createUser, expectProblem } from '../../helpers/app'
import {
  account,
  freshIp,
  type IdentityApp,
  identityApp,
  login,
  register,
  TEST_PASSWORD,
  unique,
} from './helpers'

let ctx: IdentityApp
beforeAll(async () => {
  ctx = await identityApp()
})

const USER_KEYS = [
  'created_at',
  'email',
  'email_verified',
  'full_name',
  'id',
  'is_active',
  'role',
  'updated_at',
  'username',
  'version',
]

describe('POST /auth/register', () => {
  test('creates a user: 201, Location, public fields only, email lower-cased, welcome mail queued', async () => {
    const name = unique('Reg')
    const res = await register(ctx, {
      username: name,
      email: `${name.toUpperCase()}@Example.COM`,
      full_name: ' <b>Ada</b> Lovelace ',
    })
    expect(res.status).toBe(201)
    expect(Object.keys(res.body).sort()).toEqual(USER_KEYS)
    expect(res.body).toMatchObject({
      email: `${name.toLowerCase()}@example.com`,
      username: name,
      full_name: 'Ada Lovelace',
      role: 'user',
      is_active: true,
      email_verified: false,
      version: 1,
    })
    expect(res.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(res.headers.get('location')).toBe('/api/v1/users/me')
    expect(res.text).not.toContain('argon2')
    expect(res.text).not.toContain(TEST_PASSWORD)
    const mail = await ctx.mail.next(res.body.email)
    expect(mail.subject).toBe('Welcome to Taskbase')
    const [row] = await ctx.db.select().from(users).where(eq(users.id, res.body.id))
    expect(row!.passwordHash).toStartWith('$argon2id$')
  })

  test('each broken password rule is its own 422 entry', async () => {
    const cases: [string, string[]][] = [
      ['Sh0rt!', ['must be at least 8 characters']],
      [`A1!${'a'.repeat(126)}`, ['must be at most 128 characters']],
      ['lowercase1!', ['must contain an uppercase letter']],
      ['NoDigits!!', ['must contain a digit']],
      ['NoSpecial123', ['must contain a special character']],
      [
        'abc',
        [
          'must be at least 8 characters',
          'must contain an uppercase letter',
          'must contain a digit',
          'must contain a special character',
        ],
      ],
    ]
    for (const [password, messages] of cases) {
      const body = expectProblem(await register(ctx, { password }), 422, 'validation_failed')
      expect(body.errors!.map((e) => e.message).sort()).toEqual([...messages].sort())
      expect(body.errors!.every((e) => e.field === 'password')).toBe(true)
    }
  })

  test('the password may not equal the username or the email', async () => {
    const name = `Ab1-${unique('x')}`
    const r1 = expectProblem(await register(ctx, { username: name, password: name.toLowerCase() }), 422)
    expect(r1.errors!.map((e) => e.message)).toContain('must not be the username')
    const email = `Ab1-${unique('e')}@example.com`
    const r2 = expectProblem(await register(ctx, { email, password: email }), 422)
    expect(r2.errors!.map((e) => e.message)).toContain('must not be the email address')
  })

  test('schema rules: email, username, unknown and missing fields are 422', async () => {
    const bad = [
      { email: 'not-an-email', username: unique('v'), password: TEST_PASSWORD },
      { email: `${unique('v')}@example.com`, username: 'ab', password: TEST_PASSWORD },
      { email: `${unique('v')}@example.com`, username: 'has space', password: TEST_PASSWORD },
      { email: `${unique('v')}@example.com`, username: 'x'.repeat(51), password: TEST_PASSWORD },
      { email: `${unique('v')}@example.com`, username: unique('v'), password: TEST_PASSWORD, role: 'admin' },
      {
        email: `${unique('v')}@example.com`,
        username: unique('v'),
        password: TEST_PASSWORD,
        full_name: 'x'.repeat(201),
      },
      { username: unique('v'), password: TEST_PASSWORD },
    ]
    const fields = ['email', 'username', 'username', 'username', 'role', 'full_name', 'email']
    for (const [i, body] of bad.entries()) {
      const res = await ctx.req('POST', '/api/v1/auth/register', {
        body,
        headers: { 'x-forwarded-for': freshIp() },
      })
      const p = expectProblem(res, 422, 'validation_failed')
      expect(p.errors![0]!.field).toBe(fields[i]!)
    }
  })

  test('duplicate email or username is a 409, case-insensitively', async () => {
    const name = unique('Dup')
    expect((await register(ctx, { username: name })).status).toBe(201)
    const byEmail = expectProblem(
      await register(ctx, { username: unique('other'), email: `${name.toUpperCase()}@EXAMPLE.com` }),
      409,
      'conflict',
    )
    expect(byEmail.errors![0]!.field).toBe('email')
    const byName = expectProblem(
      await register(ctx, { username: name.toUpperCase(), email: `${unique('o')}@example.com` }),
      409,
    )
    expect(byName.errors![0]!.field).toBe('username')
  })

  test('20 concurrent registrations with one email: exactly one 201, nineteen 409, no 500', async () => {
    const email = `${unique('race')}@example.com`
    const results = await Promise.all(
      Array.from({ length: 20 }, () => register(ctx, { email, username: unique('race') })),
    )
    const statuses = results.map((r) => r.status).sort()
    expect(statuses.filter((s) => s === 201)).toHaveLength(1)
    expect(statuses.filter((s) => s === 409)).toHaveLength(19)
  })
})

describe('POST /auth/login', () => {
  test('JSON login by username or email returns a bearer pair that works', async () => {
    const a = await account(ctx)
    for (const id of [a.username, a.email.toUpperCase()]) {
      const res = await login(ctx, id)
      expect(res.status).toBe(200)
      expect(Object.keys(res.body).sort()).toEqual([
        'access_token',
        'expires_in',
        'refresh_token',
        'token_type',
      ])
      expect(res.body.token_type).toBe('bearer')
      expect(res.body.expires_in).toBe(ctx.settings.ACCESS_TOKEN_TTL_SECONDS)
      const me = await ctx.req('GET', '/api/v1/users/me', { token: res.body.access_token })
      expect(me.status).toBe(200)
      expect(me.body.id).toBe(a.id)
    }
  })

  test('accepts the OAuth2 password grant form, ignoring grant_type/scope/client_id', async () => {
    const a = await account(ctx)
    const form = new URLSearchParams({
      grant_type: 'password',
      username: a.username,
      password: a.password,
      scope: '',
      client_id: 'x',
    })
    const res = await ctx.req('POST', '/api/v1/auth/login', {
      body: form.toString(),
      raw: true,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': freshIp() },
    })
    expect(res.status).toBe(200)
    const claims = await ctx.jwt.verifyAccess(res.body.access_token)
    expect(claims).toMatchObject({ sub: a.id, type: 'access' })
    expect(typeof claims!.sid).toBe('string')
  })

  test('a grant_type other than password is a 400 unsupported_grant_type, before any password check', async () => {
    const a = await account(ctx)
    for (const grant of ['client_credentials', 'refresh_token', 'PASSWORD']) {
      const form = new URLSearchParams({ grant_type: grant, username: a.username, password: a.password })
      const res = await ctx.req('POST', '/api/v1/auth/login', {
        body: form.toString(),
        raw: true,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': freshIp() },
      })
      expectProblem(res, 400, 'unsupported_grant_type')
      expect(res.headers.get('content-type')).toStartWith('application/problem+json')
    }
    const json = await ctx.req('POST', '/api/v1/auth/login', {
      body: { grant_type: 'implicit', username: a.username, password: a.password },
      headers: { 'x-forwarded-for': freshIp() },
    })
    expectProblem(json, 400, 'unsupported_grant_type')
  })

  test('the Location of a new account is readable by that account once logged in', async () => {
    const name = unique('loc')
    const reg = await ctx.req('POST', '/api/v1/auth/register', {
      body: { email: `${name}@example.com`, username: name, password: TEST_PASSWORD },
      headers: { 'x-forwarded-for': freshIp() },
    })
    const res = await login(ctx, name)
    const read = await ctx.req('GET', reg.headers.get('location')!, { token: res.body.access_token })
    expect(read.status).toBe(200)
    expect(read.body.id).toBe(reg.body.id)
  })

  test('wrong password and unknown user give the same 401', async () => {
    const a = await account(ctx)
    const wrong = expectProblem(await login(ctx, a.username, 'Wrong-pass1!'), 401, 'unauthorized')
    const unknown = expectProblem(await login(ctx, unique('nobody'), 'Wrong-pass1!'), 401, 'unauthorized')
    expect(wrong.detail).toBe(unknown.detail)
  })

  test('a deactivated user with the right password gets 403', async () => {
    const u = await createUser(ctx, { isActive: false })
    expectProblem(await login(ctx, u.username, u.password), 403, 'forbidden')
  })

  test('unknown fields and missing password are 422', async () => {
    expectProblem(
      await ctx.req('POST', '/api/v1/auth/login', { body: { username: 'x', password: 'y', extra: 1 } }),
      422,
    )
    expectProblem(await ctx.req('POST', '/api/v1/auth/login', { body: { username: 'x' } }), 422)
  })

  test('no password, hash or token ever reaches a log line (mail aside)', async () => {
    const a = await account(ctx)
    await login(ctx, a.username, 'Wrong-pass1!')
    const logs = ctx.logs.lines.filter((l) => !l.includes('mail (log transport'))
    const text = logs.join('\n')
    expect(text).not.toContain(TEST_PASSWORD)
    expect(text).not.toContain('Wrong-pass1!')
    expect(text).not.toContain('$argon2')
    expect(text).not.toContain(a.access)
    expect(text).not.toContain(a.refresh)
  })
})
