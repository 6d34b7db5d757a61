import { beforeAll, expect, test } from 'bun:test'
import { createUser, type TestContext, unique } from '../../helpers/app'
import { upload } from '../../helpers/attachments'
import { servedDocument } from '../../helpers/declared-statuses'
import { addMember, makeProject, makeTask, testApp, users } from '../../helpers/projects-fixtures'

type Json = Record<string, any>
const A = '/api/v1'
const STALE = '"987654"'

/**
 * A request that succeeds without If-Match, made fresh for each call (`allow`: an error status it
 * may answer instead, when a success needs state the API cannot make, such as a failed job).
 */
type Fixture = () => Promise<{ path: string; token: string; body?: unknown; allow?: number }>

let ctx: TestContext
let doc: Json
beforeAll(async () => {
  ctx = await testApp()
  doc = await servedDocument()
})

function fixtures(): Record<string, Fixture> {
  const project = async () => {
    const [owner, other] = await users(ctx, 2)
    const p = await makeProject(ctx, owner!)
    return { owner: owner!, other: other!, p }
  }
  const task = async () => {
    const { owner, p } = await project()
    return { owner, t: await makeTask(ctx, owner, p.id) }
  }
  const comment = async () => {
    const { owner, t } = await task()
    const c = await ctx.req('POST', `${A}/tasks/${t.id}/comments`, {
      token: owner.token,
      body: { body: 'hi' },
    })
    return { owner, c: c.body }
  }
  const admin = async () => ({
    admin: await createUser(ctx, { role: 'superadmin' }),
    target: await createUser(ctx),
  })
  // a literal public address: no name to resolve
  const hookBody = { url: 'https://93.184.215.14/hook', events: ['*'] }
  const webhook = async () => {
    const { owner, p } = await project()
    const w = await ctx.req('POST', `${A}/projects/${p.id}/webhooks`, { token: owner.token, body: hookBody })
    return { owner, p, w: w.body }
  }
  return {
    [`POST ${A}/projects/{id}/webhooks`]: async () => {
      const { owner, p } = await project()
      return { path: `${A}/projects/${p.id}/webhooks`, token: owner.token, body: hookBody }
    },
    [`PATCH ${A}/webhooks/{id}`]: async () => {
      const { owner, w } = await webhook()
      return { path: `${A}/webhooks/${w.id}`, token: owner.token, body: { description: 'changed' } }
    },
    [`DELETE ${A}/webhooks/{id}`]: async () => {
      const { owner, w } = await webhook()
      return { path: `${A}/webhooks/${w.id}`, token: owner.token }
    },
    [`POST ${A}/webhooks/{id}/rotate-secret`]: async () => {
      const { owner, w } = await webhook()
      return { path: `${A}/webhooks/${w.id}/rotate-secret`, token: owner.token }
    },
    [`POST ${A}/webhooks/{id}/ping`]: async () => {
      const { owner, w } = await webhook()
      return { path: `${A}/webhooks/${w.id}/ping`, token: owner.token }
    },
    [`POST ${A}/deliveries/{id}/redeliver`]: async () => {
      const { owner, w } = await webhook()
      const ping = await ctx.req('POST', `${A}/webhooks/${w.id}/ping`, { token: owner.token })
      // still pending: the answer is a 409, which is all a stale If-Match could change
      return { path: `${A}/deliveries/${ping.body.id}/redeliver`, token: owner.token, allow: 409 }
    },
    [`PATCH ${A}/users/me`]: async () => {
      const u = await createUser(ctx)
      return { path: `${A}/users/me`, token: u.token, body: { full_name: 'New Name' } }
    },
    [`PATCH ${A}/users/{id}`]: async () => {
      const { admin: a, target } = await admin()
      return { path: `${A}/users/${target.id}`, token: a.token, body: { full_name: 'Renamed' } }
    },
    [`DELETE ${A}/users/{id}`]: async () => {
      const { admin: a, target } = await admin()
      return { path: `${A}/users/${target.id}`, token: a.token }
    },
    [`DELETE ${A}/auth/sessions/{id}`]: async () => {
      const u = await createUser(ctx)
      return { path: `${A}/auth/sessions/${u.sessionId}`, token: u.token }
    },
    [`DELETE ${A}/users/me/tokens/{id}`]: async () => {
      const u = await createUser(ctx)
      const tk = await ctx.req('POST', `${A}/users/me/tokens`, {
        token: u.token,
        body: { name: 'ci', scope: 'read' },
      })
      return { path: `${A}/users/me/tokens/${tk.body.id}`, token: u.token }
    },
    [`PATCH ${A}/projects/{id}`]: async () => {
      const { owner, p } = await project()
      return { path: `${A}/projects/${p.id}`, token: owner.token, body: { description: 'changed' } }
    },
    [`DELETE ${A}/projects/{id}`]: async () => {
      const { owner, p } = await project()
      return { path: `${A}/projects/${p.id}`, token: owner.token }
    },
    [`POST ${A}/projects/{id}/restore`]: async () => {
      const { owner, p } = await project()
      await ctx.req('DELETE', `${A}/projects/${p.id}`, { token: owner.token })
      return { path: `${A}/projects/${p.id}/restore`, token: owner.token }
    },
    [`POST ${A}/projects/{id}/transfer`]: async () => {
      const { owner, other, p } = await project()
      await addMember(ctx, owner, p.id, other, 'editor')
      return { path: `${A}/projects/${p.id}/transfer`, token: owner.token, body: { user_id: other.id } }
    },
    [`POST ${A}/projects/{id}/members`]: async () => {
      const { owner, other, p } = await project()
      return {
        path: `${A}/projects/${p.id}/members`,
        token: owner.token,
        body: { user_id: other.id, role: 'viewer' },
      }
    },
    [`PATCH ${A}/projects/{id}/members/{user_id}`]: async () => {
      const { owner, other, p } = await project()
      await addMember(ctx, owner, p.id, other, 'editor')
      return {
        path: `${A}/projects/${p.id}/members/${other.id}`,
        token: owner.token,
        body: { role: 'viewer' },
      }
    },
    [`DELETE ${A}/projects/{id}/members/{user_id}`]: async () => {
      const { owner, other, p } = await project()
      await addMember(ctx, owner, p.id, other, 'editor')
      return { path: `${A}/projects/${p.id}/members/${other.id}`, token: owner.token }
    },
    [`POST ${A}/projects/{id}/tasks`]: async () => {
      const { owner, p } = await project()
      return { path: `${A}/projects/${p.id}/tasks`, token: owner.token, body: { title: unique('T') } }
    },
    [`POST ${A}/projects/{id}/reports`]: async () => {
      const { owner, p } = await project()
      return { path: `${A}/projects/${p.id}/reports`, token: owner.token }
    },
    [`POST ${A}/admin/jobs/{id}/retry`]: async () => {
      const { admin: a } = await admin()
      return { path: `${A}/admin/jobs/${crypto.randomUUID()}/retry`, token: a.token, allow: 404 }
    },
    [`PATCH ${A}/tasks/{id}`]: async () => {
      const { owner, t } = await task()
      return { path: `${A}/tasks/${t.id}`, token: owner.token, body: { title: 'changed' } }
    },
    [`DELETE ${A}/tasks/{id}`]: async () => {
      const { owner, t } = await task()
      return { path: `${A}/tasks/${t.id}`, token: owner.token }
    },
    [`POST ${A}/tasks/{id}/comments`]: async () => {
      const { owner, t } = await task()
      return { path: `${A}/tasks/${t.id}/comments`, token: owner.token, body: { body: 'a comment' } }
    },
    [`PATCH ${A}/comments/{id}`]: async () => {
      const { owner, c } = await comment()
      return { path: `${A}/comments/${c.id}`, token: owner.token, body: { body: 'edited' } }
    },
    [`DELETE ${A}/comments/{id}`]: async () => {
      const { owner, c } = await comment()
      return { path: `${A}/comments/${c.id}`, token: owner.token }
    },
    // the upload takes multipart only: a JSON body is its 415, after If-Match would have been checked
    [`POST ${A}/tasks/{id}/attachments`]: async () => {
      const { owner, t } = await task()
      return { path: `${A}/tasks/${t.id}/attachments`, token: owner.token, body: {}, allow: 415 }
    },
    [`DELETE ${A}/attachments/{id}`]: async () => {
      const { owner, t } = await task()
      const a = await upload(ctx, owner.token, t.id, 'hello', 'a.txt')
      return { path: `${A}/attachments/${a.body.id}`, token: owner.token }
    },
  }
}

test('If-Match is documented exactly where a stale one is refused with 412 (issue 7 #17)', async () => {
  const table = fixtures()
  const wrong: string[] = []
  const missing: string[] = []
  for (const [path, item] of Object.entries<Json>(doc.paths))
    for (const [method, op] of Object.entries<Json>(item)) {
      // every write of one resource: PATCH, DELETE, and POST on a resource (not register/login...)
      if (!(method === 'patch' || method === 'delete' || (method === 'post' && path.includes('{')))) continue
      const key = `${method.toUpperCase()} ${path}`
      const fixture = table[key]
      if (!fixture) {
        missing.push(key)
        continue
      }
      const documented = (op.parameters ?? []).some((p: Json) => p.in === 'header' && p.name === 'If-Match')
      if (documented !== '412' in op.responses) wrong.push(`${key}: If-Match and 412 disagree`)
      const { path: url, token, body, allow } = await fixture()
      const res = await ctx.req(method.toUpperCase(), url, { token, body, headers: { 'if-match': STALE } })
      if (documented && res.status !== 412)
        wrong.push(`${key}: documents If-Match, a stale one got ${res.status}`)
      if (!documented && res.status === 412) wrong.push(`${key}: enforces If-Match but does not document it`)
      if (!documented && res.status >= 400 && res.status !== allow)
        wrong.push(`${key}: fixture failed with ${res.status} ${res.text}`)
    }
  expect(missing).toEqual([])
  expect(wrong).toEqual([])
}, 120_000)
