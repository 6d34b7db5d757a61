import { describe, expect, test } from 'bun:test'
import { describeError } from '../../src/plugins/http'
import { createTestApp, createUser, expectProblem } from '../helpers/app'

const ctx = await createTestApp()

describe('hostile input is a clear 4xx, never a 500', () => {
  test('deeply nested JSON is refused before validation walks it', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`
    const body = `{"email":${deep},"username":"abc","password":"x"}`
    const res = await ctx.req('POST', '/api/v1/auth/register', { body, raw: true })
    const p = expectProblem(res, 400, 'malformed_json')
    expect(p.detail).toContain('nested deeper')
    const shallow = await ctx.req('POST', '/api/v1/auth/register', {
      body: { email: [[[1]]], username: 'abc', password: 'x' },
    })
    expectProblem(shallow, 422, 'validation_failed')
  })

  test('NUL characters are refused in JSON bodies, query strings and forms', async () => {
    const u = await createUser(ctx)
    expectProblem(
      await ctx.req('POST', '/api/v1/auth/login', { body: { username: 'a\u0000', password: 'x' } }),
      400,
    )
    expectProblem(
      await ctx.req('GET', '/api/v1/projects?search=a%00b', { token: u.token }),
      400,
      'bad_request',
    )
    const form = await ctx.req('POST', '/api/v1/auth/login', {
      body: 'username=a%00&password=x',
      raw: true,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expectProblem(form, 400)
    const ok = await ctx.req('POST', '/api/v1/projects', {
      token: u.token,
      body: { name: 'Nul-free \\u0000 text' },
    })
    expect(ok.status).toBe(201) // a backslash followed by "u0000" is ordinary text
  })

  test('a form body is accepted on login only; elsewhere it is a 415', async () => {
    const u = await createUser(ctx)
    const res = await ctx.req('POST', '/api/v1/projects', {
      token: u.token,
      body: 'name=via-form',
      raw: true,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expectProblem(res, 415, 'unsupported_media_type')
    const multipart = await ctx.req('POST', '/api/v1/projects', {
      token: u.token,
      body: '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nv\r\n--x--\r\n',
      raw: true,
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
    })
    expectProblem(multipart, 415)
  })

  test('page and page_size errors name the parameter; hex, exponent and fractions are refused', async () => {
    const u = await createUser(ctx)
    for (const [q, field] of [
      ['page=0', 'page'],
      ['page=-1', 'page'],
      ['page=1.5', 'page'],
      ['page=0x10', 'page'],
      ['page_size=0', 'page_size'],
      ['page_size=101', 'page_size'],
      ['page_size=1e2', 'page_size'],
    ] as const) {
      const p = expectProblem(
        await ctx.req('GET', `/api/v1/projects?${q}`, { token: u.token }),
        422,
        'validation_failed',
      )
      expect(p.errors?.[0]?.field).toBe(field)
    }
    const ok = await ctx.req('GET', '/api/v1/projects?page=2&page_size=100', { token: u.token })
    expect(ok.status).toBe(200)
    expect(ok.body).toMatchObject({ page: 2, page_size: 100 })
  })

  test('an invalid token is a 401 even when the body is invalid too', async () => {
    const res = await ctx.req('POST', '/api/v1/projects', {
      token: 'garbage',
      body: { name: '', owner_id: 1 },
    })
    expectProblem(res, 401, 'unauthorized')
    expect(res.headers.get('www-authenticate')).toBe('Bearer')
    expect(res.text).not.toContain('owner_id')
  })
})

describe('describeError', () => {
  test('logs the database code and message, never the SQL parameters', () => {
    const cause = Object.assign(new Error('value too long'), { code: '22001' })
    const err = Object.assign(
      new Error('Failed query: insert into "users" ... \nparams: secret-hash,alice'),
      { cause },
    )
    const d = describeError(err)
    expect(d.message).toBe('database error 22001: value too long')
    expect(JSON.stringify(d)).not.toContain('secret-hash')
    expect(describeError(new Error('plain\nsecond line')).message).toBe('plain')
    expect(describeError('weird').name).toBe('string')
  })
})

describe('text PostgreSQL cannot store, and secrets the idempotency table must not keep', () => {
  test('an unpaired surrogate is a 400 on create and update, and changes nothing', async () => {
    const u = await createUser(ctx)
    const p = (await ctx.req('POST', '/api/v1/projects', { token: u.token, body: { name: 'Surrogates' } }))
      .body
    const task = (
      await ctx.req('POST', `/api/v1/projects/${p.id}/tasks`, { token: u.token, body: { title: 'ok' } })
    ).body
    for (const raw of ['{"title":"\\ud800 hi"}', '{"labels":["\\udfff"]}', '{"description":"x\\ud83d"}']) {
      const res = await ctx.req('PATCH', `/api/v1/tasks/${task.id}`, { token: u.token, body: raw, raw: true })
      expectProblem(res, 400, 'bad_request')
    }
    const after = await ctx.req('GET', `/api/v1/tasks/${task.id}`, { token: u.token })
    expect(after.body).toMatchObject({ title: 'ok', version: 1 })
    // a well-formed pair (an emoji) is fine
    const emoji = await ctx.req('PATCH', `/api/v1/tasks/${task.id}`, {
      token: u.token,
      body: { title: 'ship it \ud83d\ude80' },
    })
    expect(emoji.status).toBe(200)
    expect(emoji.body.title).toBe('ship it 🚀')
  })

  test('a new API token is never stored for Idempotency-Key replays; the key is released instead', async () => {
    const u = await createUser(ctx)
    const key = `tok-${crypto.randomUUID()}`
    const send = () =>
      ctx.req('POST', '/api/v1/users/me/tokens', {
        token: u.token,
        body: { name: 'ci', scope: 'read' },
        headers: { 'idempotency-key': key },
      })
    const first = await send()
    expect(first.status).toBe(201)
    expect(first.headers.get('cache-control')).toBe('no-store')
    // no sleep: the key is released before the response goes out (mapResponse awaits it), and the
    // retry below runs again instead of replaying, which a stored key would not allow
    const { idempotencyKeys } = await import('../../src/db/schema')
    const { eq } = await import('drizzle-orm')
    expect(await ctx.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key))).toHaveLength(0)
    const second = await send()
    expect(second.status).toBe(201)
    expect(second.headers.get('idempotency-replayed')).toBeNull()
    expect(second.body.token).not.toBe(first.body.token)
  })

  test('an API token cannot end every session of its user', async () => {
    const u = await createUser(ctx)
    const tok = (
      await ctx.req('POST', '/api/v1/users/me/tokens', {
        token: u.token,
        body: { name: 'w', scope: 'write' },
      })
    ).body
    expectProblem(await ctx.req('POST', '/api/v1/auth/logout-all', { token: tok.token }), 403, 'forbidden')
    expect((await ctx.req('GET', '/api/v1/users/me', { token: u.token })).status).toBe(200)
  })
})
