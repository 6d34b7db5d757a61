import { expect, test } from 'bun:test'
import { createTestApp, createUser } from '../../helpers/app'
import { servedDocument } from '../../helpers/declared-statuses'

test('the Authorize button of /docs logs in: the OAuth2 password request it sends gets a bearer token', async () => {
  const ctx = await createTestApp()
  const user = await createUser(ctx)
  const doc = await servedDocument()
  const { tokenUrl } = doc.components.securitySchemes.oauth2Password.flows.password
  // what Swagger UI posts for the password flow (no client credentials configured)
  const form = new URLSearchParams({
    grant_type: 'password',
    username: user.username,
    password: user.password,
  })
  const res = await ctx.req('POST', tokenUrl, {
    body: form.toString(),
    raw: true,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json, text/plain, */*',
      'x-requested-with': 'XMLHttpRequest',
    },
  })
  expect(res.status).toBe(200)
  expect(res.body.token_type.toLowerCase()).toBe('bearer')
  // and then sends it as `Bearer <access_token>`
  const me = await ctx.req('GET', '/api/v1/users/me', { token: res.body.access_token })
  expect(me.status).toBe(200)
  expect(me.body.id).toBe(user.id)
  // the page keeps the authorization across reloads
  const page = await ctx.req('GET', '/docs')
  expect(page.text).toContain('persistAuthorization')
  // with the UI's script and stylesheet served from the binary
  for (const asset of ['/docs/assets/swagger-ui.js', '/docs/assets/swagger-ui.css']) {
    expect(page.text).toContain(asset)
    expect((await ctx.req('GET', asset)).status).toBe(200)
  }
}, 30_000)
