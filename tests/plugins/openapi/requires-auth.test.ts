import { beforeAll, expect, test } from 'bun:test'
import { createJwt } from '../../../src/modules/identity/access-tokens'
import { createTestApp, createUser, type TestContext } from '../../helpers/app'
import { servedDocument } from '../../helpers/declared-statuses'

type Json = Record<string, any>

let ctx: TestContext
let secured: { method: string; path: string; template: string; optional: boolean }[]
let forged: Record<string, string>
beforeAll(async () => {
  ctx = await createTestApp()
  const doc = await servedDocument()
  secured = Object.entries<Json>(doc.paths).flatMap(([template, item]) =>
    Object.entries<Json>(item)
      .filter(([, op]) => (op.security ?? []).some((req: Json) => Object.keys(req).length > 0))
      .map(([method, op]) => ({
        method: method.toUpperCase(),
        // `{}` among the requirements: no token is allowed (the realtime upgrade), a bad one is not
        optional: op.security.some((req: Json) => !Object.keys(req).length),
        template,
        // every path parameter gets a well-formed id: auth must answer before any lookup
        path: template.replace(/\{[^}]+\}/g, () => crypto.randomUUID()),
      })),
  )
  const user = await createUser(ctx)
  const foreign = createJwt('another-secret-that-is-long-enough-0123456789', ctx.settings.JWT_ALGORITHM)
  forged = {
    'signed with another key': (await foreign.signAccess(user.id, user.sessionId, 900)).token,
    expired: (await ctx.jwt.signAccess(user.id, user.sessionId, 60, Date.now() - 3_600_000)).token,
    garbage: 'not.a.jwt',
    'unknown API token': `tb_${'x'.repeat(40)}`,
  }
})

test('the document marks most operations as secured', () => {
  expect(secured.length).toBeGreaterThan(30)
})

test('every secured operation answers 401 problem+json with WWW-Authenticate: Bearer, without a token or with a forged one', async () => {
  const failures: string[] = []
  for (const { method, path, template, optional } of secured) {
    const hasBody = ['POST', 'PUT', 'PATCH'].includes(method)
    const tokens = Object.entries(forged) as [string, string | undefined][]
    for (const [label, token] of [...(optional ? [] : [['no token', undefined]]), ...tokens] as [
      string,
      string | undefined,
    ][]) {
      const res = await ctx.req(method, path, { token, ...(hasBody ? { body: {} } : {}) })
      const type = res.headers.get('content-type') ?? ''
      const challenge = res.headers.get('www-authenticate') ?? ''
      if (
        res.status !== 401 ||
        !type.startsWith('application/problem+json') ||
        !/^Bearer\b/.test(challenge) ||
        res.body?.status !== 401
      )
        failures.push(`${method} ${template} (${label}): ${res.status} ${type} www-authenticate=${challenge}`)
    }
  }
  expect(failures).toEqual([])
}, 60_000)
