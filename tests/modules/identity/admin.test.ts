import { beforeAll, describe, expect, test } from 'bun:test'
import { createUser, expectProblem, type TestUser } from '../../helpers/app'
import { account, type IdentityApp, identityApp, login, TEST_PASSWORD, unique } from './helpers'

let ctx: IdentityApp
let admin: TestUser
let superadmin: TestUser
beforeAll(async () => {
  ctx = await identityApp()
  admin = await createUser(ctx, { role: 'admin' })
  superadmin = await createUser(ctx, { role: 'superadmin' })
})

const newUser = (extra: Record<string, unknown> = {}) => {
  const name = unique('adm')
  return { email: `${name}@example.com`, username: name, password: TEST_PASSWORD, ...extra }
}

describe('admin: role guard', () => {
  test('a plain user gets 403 on every admin route; no token gets 401', async () => {
    const a = await account(ctx)
    expectProblem(await ctx.req('GET', '/api/v1/users', { token: a.access }), 403, 'forbidden')
    expectProblem(await ctx.req('POST', '/api/v1/users', { token: a.access, body: newUser() }), 403)
    expectProblem(await ctx.req('GET', `/api/v1/users/${a.id}`, { token: a.access }), 403)
    expectProblem(
      await ctx.req('PATCH', `/api/v1/users/${a.id}`, { token: a.access, body: { role: 'admin' } }),
      403,
    )
    expectProblem(await ctx.req('DELETE', `/api/v1/users/${a.id}`, { token: a.access }), 403)
    expectProblem(await ctx.req('GET', '/api/v1/users'), 401)
  })
})

describe('POST /users', () => {
  test('an admin creates a user (201, Location); may not create an admin', async () => {
    const res = await ctx.req('POST', '/api/v1/users', {
      token: admin.token,
      body: newUser({ full_name: 'Made' }),
    })
    expect(res.status).toBe(201)
    expect(res.body.role).toBe('user')
    expect(res.headers.get('location')).toBe(`/api/v1/users/${res.body.id}`)
    expect((await login(ctx, res.body.username)).status).toBe(200)
    expectProblem(
      await ctx.req('POST', '/api/v1/users', { token: admin.token, body: newUser({ role: 'admin' }) }),
      403,
    )
    expectProblem(
      await ctx.req('POST', '/api/v1/users', { token: admin.token, body: newUser({ role: 'superadmin' }) }),
      403,
    )
  })

  test('a superadmin creates admins; duplicates are 409; weak passwords 422', async () => {
    const body = newUser({ role: 'admin', is_active: false })
    const res = await ctx.req('POST', '/api/v1/users', { token: superadmin.token, body })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({ role: 'admin', is_active: false })
    expectProblem(await ctx.req('POST', '/api/v1/users', { token: superadmin.token, body }), 409)
    expectProblem(
      await ctx.req('POST', '/api/v1/users', {
        token: superadmin.token,
        body: newUser({ password: 'short' }),
      }),
      422,
    )
  })
})

describe('GET /users', () => {
  test('paginates, searches email/username/full_name with literal % and _, filters role and is_active', async () => {
    const tag = unique('srch')
    for (const [i, full] of ['Alpha 100%', 'Beta_x', 'Gamma'].entries())
      await ctx.req('POST', '/api/v1/users', {
        token: admin.token,
        body: {
          email: `${tag}${i}@example.com`,
          username: `${tag}${i}`,
          password: TEST_PASSWORD,
          full_name: `${full} ${tag}`,
        },
      })
    const all = await ctx.req('GET', `/api/v1/users?search=${tag}&page_size=2&sort=-username`, {
      token: admin.token,
    })
    expect(all.status).toBe(200)
    expect(all.body).toMatchObject({ total: 3, page: 1, page_size: 2, pages: 2 })
    expect(all.body.items.map((u: { username: string }) => u.username)).toEqual([`${tag}2`, `${tag}1`])
    const page2 = await ctx.req('GET', `/api/v1/users?search=${tag}&page_size=2&page=2&sort=-username`, {
      token: admin.token,
    })
    expect(page2.body.items.map((u: { username: string }) => u.username)).toEqual([`${tag}0`])
    const pct = await ctx.req('GET', `/api/v1/users?search=${encodeURIComponent('100%')}`, {
      token: admin.token,
    })
    expect(pct.body.items.some((u: { username: string }) => u.username === `${tag}0`)).toBe(true)
    expect(pct.body.items.every((u: { full_name: string }) => u.full_name.includes('100%'))).toBe(true)
    const underscore = await ctx.req('GET', `/api/v1/users?search=${encodeURIComponent(`a_x ${tag}`)}`, {
      token: admin.token,
    })
    expect(underscore.body.items.map((u: { username: string }) => u.username)).toEqual([`${tag}1`])
    const noWildcard = await ctx.req('GET', `/api/v1/users?search=${encodeURIComponent(`Bet_ ${tag}`)}`, {
      token: admin.token,
    })
    expect(noWildcard.body.total).toBe(0)
    const admins = await ctx.req('GET', '/api/v1/users?role=superadmin&is_active=true&page_size=100', {
      token: admin.token,
    })
    expect(
      admins.body.items.every(
        (u: { role: string; is_active: boolean }) => u.role === 'superadmin' && u.is_active,
      ),
    ).toBe(true)
    expect(admins.body.items.some((u: { id: string }) => u.id === superadmin.id)).toBe(true)
  })

  test('bad sort, page or filters are 422', async () => {
    for (const q of ['sort=password_hash', 'page=0', 'page_size=101', 'role=god', 'is_active=maybe', 'foo=1'])
      expectProblem(await ctx.req('GET', `/api/v1/users?${q}`, { token: admin.token }), 422)
  })
})

describe('GET/PATCH/DELETE /users/{id}', () => {
  test('get with ETag; unknown and malformed ids are 404', async () => {
    const a = await account(ctx)
    const res = await ctx.req('GET', `/api/v1/users/${a.id}`, { token: admin.token })
    expect(res.status).toBe(200)
    expect(res.headers.get('etag')).toBe('"1"')
    expect(res.body.username).toBe(a.username)
    expectProblem(await ctx.req('GET', `/api/v1/users/${Bun.randomUUIDv7()}`, { token: admin.token }), 404)
    expectProblem(await ctx.req('GET', '/api/v1/users/nope', { token: admin.token }), 404)
  })

  test('an admin updates a user; deactivating ends every session at once', async () => {
    const a = await account(ctx)
    const res = await ctx.req('PATCH', `/api/v1/users/${a.id}`, {
      token: admin.token,
      body: { full_name: 'Renamed', is_active: false },
      headers: { 'if-match': '"1"' },
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ full_name: 'Renamed', is_active: false, version: 2 })
    expect(res.headers.get('etag')).toBe('"2"')
    expectProblem(await ctx.req('GET', '/api/v1/users/me', { token: a.access }), 401)
    expectProblem(await ctx.req('POST', '/api/v1/auth/refresh', { body: { refresh_token: a.refresh } }), 401)
    expectProblem(await login(ctx, a.username), 403)
    expectProblem(
      await ctx.req('PATCH', `/api/v1/users/${a.id}`, {
        token: admin.token,
        body: { full_name: 'x' },
        headers: { 'if-match': '"1"' },
      }),
      412,
    )
    expectProblem(
      await ctx.req('PATCH', `/api/v1/users/${a.id}`, { token: admin.token, body: { username: 'nope' } }),
      422,
    )
  })

  test('an admin cannot grant admin/superadmin nor touch a superadmin; a superadmin can', async () => {
    const a = await account(ctx)
    expectProblem(
      await ctx.req('PATCH', `/api/v1/users/${a.id}`, { token: admin.token, body: { role: 'admin' } }),
      403,
    )
    expectProblem(
      await ctx.req('PATCH', `/api/v1/users/${a.id}`, { token: admin.token, body: { role: 'superadmin' } }),
      403,
    )
    expectProblem(
      await ctx.req('PATCH', `/api/v1/users/${superadmin.id}`, {
        token: admin.token,
        body: { full_name: 'x' },
      }),
      403,
    )
    const promoted = await ctx.req('PATCH', `/api/v1/users/${a.id}`, {
      token: superadmin.token,
      body: { role: 'admin' },
    })
    expect(promoted.status).toBe(200)
    expect(promoted.body.role).toBe('admin')
    const list = await ctx.req('GET', '/api/v1/users?page_size=1', { token: a.access })
    expect(list.status).toBe(200)
  })

  test('nobody demotes, deactivates or deletes themselves; duplicate email is 409', async () => {
    expectProblem(
      await ctx.req('PATCH', `/api/v1/users/${admin.id}`, { token: admin.token, body: { is_active: false } }),
      409,
    )
    expectProblem(
      await ctx.req('PATCH', `/api/v1/users/${superadmin.id}`, {
        token: superadmin.token,
        body: { role: 'user' },
      }),
      409,
    )
    expectProblem(await ctx.req('DELETE', `/api/v1/users/${superadmin.id}`, { token: superadmin.token }), 409)
    const a = await account(ctx)
    const b = await account(ctx)
    expectProblem(
      await ctx.req('PATCH', `/api/v1/users/${a.id}`, {
        token: admin.token,
        body: { email: b.email.toUpperCase() },
      }),
      409,
    )
  })

  test('DELETE is superadmin only → 204; the user and their tokens are gone', async () => {
    const a = await account(ctx)
    expectProblem(await ctx.req('DELETE', `/api/v1/users/${a.id}`, { token: admin.token }), 403)
    expectProblem(
      await ctx.req('DELETE', `/api/v1/users/${a.id}`, {
        token: superadmin.token,
        headers: { 'if-match': '"9"' },
      }),
      412,
    )
    const del = await ctx.req('DELETE', `/api/v1/users/${a.id}`, { token: superadmin.token })
    expect(del.status).toBe(204)
    expect(del.text).toBe('')
    expectProblem(await ctx.req('GET', `/api/v1/users/${a.id}`, { token: admin.token }), 404)
    expectProblem(await ctx.req('GET', '/api/v1/users/me', { token: a.access }), 401)
    expectProblem(await ctx.req('DELETE', `/api/v1/users/${a.id}`, { token: superadmin.token }), 404)
  })
})
