import { beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { apiTokens, oneTimeTokens } from '../../../src/db/schema'
import { sha256Hex } from '../../../src/lib/crypto'
import { expectProblem } from '../../helpers/app'
import { account, type IdentityApp, identityApp, login, TEST_PASSWORD, unique } from './helpers'

let ctx: IdentityApp
beforeAll(async () => {
  ctx = await identityApp()
})

const tokenFrom = (text: string) => decodeURIComponent(text.match(/token=([^\s&]+)/)![1]!)

describe('GET/PATCH /users/me', () => {
  test('returns my profile with an ETag', async () => {
    const a = await account(ctx)
    const res = await ctx.req('GET', '/api/v1/users/me', { token: a.access })
    expect(res.status).toBe(200)
    expect(res.headers.get('etag')).toBe('"1"')
    expect(res.body).toMatchObject({ id: a.id, username: a.username, email: a.email, version: 1 })
  })

  test('updates fields, bumps version and updated_at, strips HTML from full_name', async () => {
    const a = await account(ctx)
    const name = unique('New')
    const res = await ctx.req('PATCH', '/api/v1/users/me', {
      token: a.access,
      body: { full_name: '<script>x</script>Grace  ', username: name },
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ full_name: 'x Grace'.replace('x ', 'x'), username: name, version: 2 })
    expect(res.headers.get('etag')).toBe('"2"')
    expect(res.body.updated_at > res.body.created_at || res.body.updated_at === res.body.created_at).toBe(
      true,
    )
    const same = await ctx.req('PATCH', '/api/v1/users/me', { token: a.access, body: { username: name } })
    expect(same.body.version).toBe(2)
  })

  test('If-Match mismatch is 412, a match applies', async () => {
    const a = await account(ctx)
    expectProblem(
      await ctx.req('PATCH', '/api/v1/users/me', {
        token: a.access,
        body: { full_name: 'A' },
        headers: { 'if-match': '"7"' },
      }),
      412,
      'precondition_failed',
    )
    expectProblem(
      await ctx.req('PATCH', '/api/v1/users/me', {
        token: a.access,
        body: { full_name: 'A' },
        headers: { 'if-match': 'garbage' },
      }),
      412,
    )
    const ok = await ctx.req('PATCH', '/api/v1/users/me', {
      token: a.access,
      body: { full_name: 'A' },
      headers: { 'if-match': 'W/"1"' },
    })
    expect(ok.status).toBe(200)
    const star = await ctx.req('PATCH', '/api/v1/users/me', {
      token: a.access,
      body: { full_name: 'B' },
      headers: { 'if-match': '*' },
    })
    expect(star.body.version).toBe(3)
  })

  test('role, id, is_active and unknown fields are refused with 422', async () => {
    const a = await account(ctx)
    for (const body of [{ role: 'admin' }, { id: a.id }, { is_active: false }, { email_verified: true }]) {
      const p = expectProblem(await ctx.req('PATCH', '/api/v1/users/me', { token: a.access, body }), 422)
      expect(p.errors![0]!.message).toBe('is not an allowed field')
    }
    const me = await ctx.req('GET', '/api/v1/users/me', { token: a.access })
    expect(me.body.role).toBe('user')
  })

  test('duplicate email or username is 409 (case-insensitive)', async () => {
    const a = await account(ctx)
    const b = await account(ctx)
    expectProblem(
      await ctx.req('PATCH', '/api/v1/users/me', {
        token: a.access,
        body: { email: b.email.toUpperCase(), current_password: a.password },
      }),
      409,
    )
    expectProblem(
      await ctx.req('PATCH', '/api/v1/users/me', {
        token: a.access,
        body: { username: b.username.toUpperCase() },
      }),
      409,
    )
  })

  test('no token is 401 before the body is validated', async () => {
    expectProblem(await ctx.req('PATCH', '/api/v1/users/me', { body: { role: 'admin' } }), 401)
  })
})

describe('email verification', () => {
  test('request → mail with a single-use token → confirm sets email_verified; changing the email clears it', async () => {
    const a = await account(ctx)
    const req = await ctx.req('POST', '/api/v1/auth/verify-email/request', { token: a.access })
    expect(req.status).toBe(202)
    const verify = await ctx.mail.next(a.email, 'Confirm')
    expect(verify.text).toContain(`${ctx.settings.PUBLIC_URL}/verify-email?token=`)
    const token = tokenFrom(verify.text)
    const [row] = await ctx.db
      .select()
      .from(oneTimeTokens)
      .where(eq(oneTimeTokens.tokenHash, sha256Hex(token)))
    expect(row!.email).toBe(a.email)
    expect((await ctx.req('POST', '/api/v1/auth/verify-email/confirm', { body: { token } })).status).toBe(204)
    const me = await ctx.req('GET', '/api/v1/users/me', { token: a.access })
    expect(me.body.email_verified).toBe(true)
    expectProblem(await ctx.req('POST', '/api/v1/auth/verify-email/confirm', { body: { token } }), 422)
    // already verified: 202, no new mail
    // no token is issued, so no mail can follow (the token is written before the 202)
    const verifyTokens = async () =>
      (await ctx.db.select().from(oneTimeTokens).where(eq(oneTimeTokens.userId, a.id))).length
    const before = await verifyTokens()
    expect((await ctx.req('POST', '/api/v1/auth/verify-email/request', { token: a.access })).status).toBe(202)
    expect(await verifyTokens()).toBe(before)
    const changed = await ctx.req('PATCH', '/api/v1/users/me', {
      token: a.access,
      body: { email: `${unique('n')}@example.com`, current_password: a.password },
    })
    expect(changed.body.email_verified).toBe(false)
  })

  test('a token sent to a previous address is void', async () => {
    const a = await account(ctx)
    await ctx.req('POST', '/api/v1/auth/verify-email/request', { token: a.access })
    const verify = await ctx.mail.next(a.email, 'Confirm')
    await ctx.req('PATCH', '/api/v1/users/me', {
      token: a.access,
      body: { email: `${unique('m')}@example.com`, current_password: a.password },
    })
    expectProblem(
      await ctx.req('POST', '/api/v1/auth/verify-email/confirm', { body: { token: tokenFrom(verify.text) } }),
      422,
    )
  })
})

describe('password change and reset', () => {
  test('POST /users/me/password checks the current password and the policy, then ends other sessions', async () => {
    const a = await account(ctx)
    const other = await login(ctx, a.username)
    const wrong = expectProblem(
      await ctx.req('POST', '/api/v1/users/me/password', {
        token: a.access,
        body: { current_password: 'Nope-123!', new_password: 'Brand-new1!' },
      }),
      422,
    )
    expect(wrong.errors![0]!.field).toBe('current_password')
    const weak = expectProblem(
      await ctx.req('POST', '/api/v1/users/me/password', {
        token: a.access,
        body: { current_password: TEST_PASSWORD, new_password: 'weak' },
      }),
      422,
    )
    expect(weak.errors!.length).toBe(4)
    const ok = await ctx.req('POST', '/api/v1/users/me/password', {
      token: a.access,
      body: { current_password: TEST_PASSWORD, new_password: 'Brand-new1!' },
    })
    expect(ok.status).toBe(204)
    expect((await ctx.req('GET', '/api/v1/users/me', { token: a.access })).status).toBe(200)
    expectProblem(await ctx.req('GET', '/api/v1/users/me', { token: other.body.access_token }), 401)
    expectProblem(await login(ctx, a.username), 401)
    expect((await login(ctx, a.username, 'Brand-new1!')).status).toBe(200)
  })

  test('reset: 202 for any address, single-use token, ends all sessions', async () => {
    const a = await account(ctx)
    const unknown = await ctx.req('POST', '/api/v1/auth/password-reset/request', {
      body: { email: `${unique('ghost')}@example.com` },
    })
    expect(unknown.status).toBe(202)
    const res = await ctx.req('POST', '/api/v1/auth/password-reset/request', {
      body: { email: a.email.toUpperCase() },
    })
    expect(res.status).toBe(202)
    expect(res.body).toEqual({ status: 'accepted' })
    const mail = await ctx.mail.next(a.email, 'Reset')
    expect(mail.subject).toContain('Reset')
    const token = tokenFrom(mail.text)
    const weak = expectProblem(
      await ctx.req('POST', '/api/v1/auth/password-reset/confirm', {
        body: { token, new_password: a.username },
      }),
      422,
    )
    expect(weak.errors!.every((e) => e.field === 'new_password')).toBe(true)
    const ok = await ctx.req('POST', '/api/v1/auth/password-reset/confirm', {
      body: { token, new_password: 'Reset-pass9!' },
    })
    expect(ok.status).toBe(204)
    expectProblem(await ctx.req('GET', '/api/v1/users/me', { token: a.access }), 401)
    expectProblem(await ctx.req('POST', '/api/v1/auth/refresh', { body: { refresh_token: a.refresh } }), 401)
    expect((await login(ctx, a.username, 'Reset-pass9!')).status).toBe(200)
    expectProblem(
      await ctx.req('POST', '/api/v1/auth/password-reset/confirm', {
        body: { token, new_password: 'Again-pass9!' },
      }),
      422,
    )
  })

  test('an expired reset token is refused', async () => {
    const a = await account(ctx)
    await ctx.req('POST', '/api/v1/auth/password-reset/request', { body: { email: a.email } })
    const token = tokenFrom((await ctx.mail.next(a.email, 'Reset')).text)
    await ctx.db
      .update(oneTimeTokens)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(oneTimeTokens.tokenHash, sha256Hex(token)))
    expectProblem(
      await ctx.req('POST', '/api/v1/auth/password-reset/confirm', {
        body: { token, new_password: 'Reset-pass9!' },
      }),
      422,
    )
    expect((await login(ctx, a.username)).status).toBe(200)
  })
})

describe('personal API tokens', () => {
  test('create (201, tb_ secret once, hash stored), list without secret, use as bearer', async () => {
    const a = await account(ctx)
    const res = await ctx.req('POST', '/api/v1/users/me/tokens', {
      token: a.access,
      body: { name: ' <i>CI</i> ', scope: 'write' },
    })
    expect(res.status).toBe(201)
    expect(res.body.token).toStartWith('tb_')
    expect(res.body).toMatchObject({ name: 'CI', scope: 'write', expires_at: null, last_used_at: null })
    expect(res.headers.get('location')).toBe(`/api/v1/users/me/tokens/${res.body.id}`)
    const [row] = await ctx.db.select().from(apiTokens).where(eq(apiTokens.id, res.body.id))
    expect(row!.tokenHash).toBe(sha256Hex(res.body.token))
    const list = await ctx.req('GET', '/api/v1/users/me/tokens', { token: res.body.token })
    expect(list.status).toBe(200)
    expect(list.body).toMatchObject({ total: 1, page: 1, page_size: 20, pages: 1 })
    expect(Object.keys(list.body.items[0]).sort()).toEqual([
      'created_at',
      'expires_at',
      'id',
      'last_used_at',
      'name',
      'scope',
    ])
    expect(list.text).not.toContain(res.body.token)
    // the Location of the new token is readable by its owner
    const one = await ctx.req('GET', res.headers.get('location')!, { token: a.access })
    expect(one.status).toBe(200)
    expect(one.body).toMatchObject({ id: res.body.id, name: 'CI', scope: 'write', expires_at: null })
    expect(one.text).not.toContain(res.body.token)
    const patch = await ctx.req('PATCH', '/api/v1/users/me', {
      token: res.body.token,
      body: { full_name: 'Via token' },
    })
    expect(patch.status).toBe(200)
    // a token cannot mint tokens
    expectProblem(
      await ctx.req('POST', '/api/v1/users/me/tokens', {
        token: res.body.token,
        body: { name: 'x', scope: 'read' },
      }),
      403,
    )
  })

  test('a read token reads but gets 403 on every write', async () => {
    const a = await account(ctx)
    const { body } = await ctx.req('POST', '/api/v1/users/me/tokens', {
      token: a.access,
      body: { name: 'ro', scope: 'read' },
    })
    expect((await ctx.req('GET', '/api/v1/users/me', { token: body.token })).status).toBe(200)
    expectProblem(
      await ctx.req('PATCH', '/api/v1/users/me', { token: body.token, body: { full_name: 'x' } }),
      403,
      'forbidden',
    )
    expectProblem(await ctx.req('POST', '/api/v1/auth/logout-all', { token: body.token }), 403)
    expectProblem(await ctx.req('DELETE', `/api/v1/users/me/tokens/${body.id}`, { token: body.token }), 403)
  })

  test('revoking deletes the token and it is refused at once; others cannot revoke it', async () => {
    const a = await account(ctx)
    const b = await account(ctx)
    const { body } = await ctx.req('POST', '/api/v1/users/me/tokens', {
      token: a.access,
      body: { name: 'w', scope: 'write' },
    })
    expectProblem(await ctx.req('DELETE', `/api/v1/users/me/tokens/${body.id}`, { token: b.access }), 404)
    expectProblem(await ctx.req('DELETE', '/api/v1/users/me/tokens/xyz', { token: a.access }), 404)
    const del = await ctx.req('DELETE', `/api/v1/users/me/tokens/${body.id}`, { token: a.access })
    expect(del.status).toBe(204)
    expect(del.text).toBe('')
    expectProblem(await ctx.req('GET', '/api/v1/users/me', { token: body.token }), 401)
    expectProblem(await ctx.req('GET', '/api/v1/users/me', { token: 'tb_unknown' }), 401)
  })

  test('expires_at must be in the future; an expired token is refused', async () => {
    const a = await account(ctx)
    const past = expectProblem(
      await ctx.req('POST', '/api/v1/users/me/tokens', {
        token: a.access,
        body: { name: 'p', scope: 'read', expires_at: '2000-01-01T00:00:00Z' },
      }),
      422,
    )
    expect(past.errors![0]!.field).toBe('expires_at')
    expectProblem(
      await ctx.req('POST', '/api/v1/users/me/tokens', {
        token: a.access,
        body: { name: 'p', scope: 'admin' },
      }),
      422,
    )
    expectProblem(
      await ctx.req('POST', '/api/v1/users/me/tokens', {
        token: a.access,
        body: { name: 'p', scope: 'read', expires_at: 'soon' },
      }),
      422,
    )
    const future = new Date(Date.now() + 86_400_000).toISOString()
    const ok = await ctx.req('POST', '/api/v1/users/me/tokens', {
      token: a.access,
      body: { name: 'f', scope: 'read', expires_at: future },
    })
    expect(ok.status).toBe(201)
    expect(ok.body.expires_at).toBe(future)
    await ctx.db
      .update(apiTokens)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(apiTokens.id, ok.body.id))
    expectProblem(await ctx.req('GET', '/api/v1/users/me', { token: ok.body.token }), 401)
  })

  test('logout with an API token is a 400 (it has no session)', async () => {
    const a = await account(ctx)
    const { body } = await ctx.req('POST', '/api/v1/users/me/tokens', {
      token: a.access,
      body: { name: 'w', scope: 'write' },
    })
    expectProblem(await ctx.req('POST', '/api/v1/auth/logout', { token: body.token }), 400)
    const sessions = await ctx.req('GET', '/api/v1/auth/sessions', { token: body.token })
    expect(sessions.body.items).toHaveLength(1)
    expect(sessions.body.items.every((s: { current: boolean }) => !s.current)).toBe(true)
  })
})
