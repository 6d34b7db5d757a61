import { describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { events, projects } from '../../../src/db/schema'
import { createUser, expectProblem, unique } from '../../helpers/app'
import { countQueries } from '../../helpers/db'
import {
  API,
  addMember,
  MISSING_ID,
  makeProject,
  team,
  testApp,
  users,
} from '../../helpers/projects-fixtures'

describe('POST /projects', () => {
  test('creates a project owned by the caller with a slug, ETag and Location', async () => {
    const ctx = await testApp()
    const u = await createUser(ctx)
    const name = unique('Alpha Project ')
    const res = await ctx.req('POST', `${API}/projects`, { token: u.token, body: { name, description: 'd' } })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({
      name,
      description: 'd',
      status: 'active',
      owner_id: u.id,
      my_role: 'owner',
      task_count: 0,
      version: 1,
    })
    expect(res.body.slug).toMatch(
      new RegExp(`^${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-[a-z0-9]{6}$`),
    )
    expect(res.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(res.headers.get('location')).toBe(`/api/v1/projects/${res.body.id}`)
    expect(res.headers.get('etag')).toBe('"1"')
    const got = await ctx.req('GET', `${API}/projects/${res.body.id}`, { token: u.token })
    expect(got.status).toBe(200)
    expect(got.body).toEqual(res.body)
    expect(got.headers.get('etag')).toBe('"1"')
  })

  test('requires a token', async () => {
    const ctx = await testApp()
    expectProblem(await ctx.req('POST', `${API}/projects`, { body: { name: 'x' } }), 401, 'unauthorized')
    expectProblem(await ctx.req('GET', `${API}/projects`), 401, 'unauthorized')
    expectProblem(await ctx.req('GET', `${API}/projects/${MISSING_ID}`), 401, 'unauthorized')
  })

  test('validates name, status and rejects unknown fields (mass assignment)', async () => {
    const ctx = await testApp()
    const u = await createUser(ctx)
    for (const body of [
      {},
      { name: '' },
      { name: '   ' },
      { name: '<b></b>' },
      { name: 'x'.repeat(201) },
      { name: 'ok', status: 'deleted' },
      { name: 'ok', owner_id: u.id },
      { name: 'ok', id: MISSING_ID },
      { name: 'ok', version: 5 },
      { name: 'ok', slug: 'custom' },
      { name: 42 },
    ]) {
      const p = expectProblem(
        await ctx.req('POST', `${API}/projects`, { token: u.token, body }),
        422,
        'validation_failed',
      )
      expect(p.errors?.length).toBeGreaterThan(0)
    }
  })

  test('strips HTML tags from the name (XSS) and keeps the description verbatim', async () => {
    const ctx = await testApp()
    const u = await createUser(ctx)
    const tag = unique('x')
    const res = await ctx.req('POST', `${API}/projects`, {
      token: u.token,
      body: {
        name: `  <script>alert(1)</script>Safe ${tag} <img src=x onerror=alert(1)> `,
        description: '<b>md</b>',
      },
    })
    expect(res.status).toBe(201)
    expect(res.body.name).toBe(`alert(1)Safe ${tag}`)
    expect(res.body.description).toBe('<b>md</b>')
  })

  test('slugs are the name plus a random suffix: unique, and independent of other owners’ projects', async () => {
    const ctx = await testApp()
    const [a, b] = await users(ctx, 2)
    const base = unique('slug base ')
    const slug = base.toLowerCase().replace(/[^a-z0-9]+/g, '-')
    const first = await makeProject(ctx, a!, { name: base })
    expect(first.slug).toMatch(new RegExp(`^${slug}-[a-z0-9]{6}$`))
    // a stranger naming a project the same gets the same shape: no "-2" telling them it exists
    const second = await makeProject(ctx, b!, { name: base.toUpperCase() })
    expect(second.slug).toMatch(new RegExp(`^${slug}-[a-z0-9]{6}$`))
    expect(second.slug).not.toBe(first.slug)
    const many = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        ctx.req('POST', `${API}/projects`, {
          token: a!.token,
          body: { name: `${base}${'!'.repeat(i + 1)}` },
        }),
      ),
    )
    for (const r of many) expect(r.status).toBe(201)
    const slugs = many.map((r) => r.body.slug as string)
    expect(new Set([...slugs, first.slug, second.slug]).size).toBe(8)
    for (const s of slugs) expect(s).toMatch(new RegExp(`^${slug}-[a-z0-9]{6}$`))
  })

  test('slug of a name without ASCII letters falls back to "project", and is stable on rename', async () => {
    const ctx = await testApp()
    const u = await createUser(ctx)
    const p = await makeProject(ctx, u, { name: `日本 ${unique('')}`.replace(/[a-z0-9]/g, '') || '日本' })
    expect(p.slug).toMatch(/^project-[a-z0-9]{6}$/)
    const q = await makeProject(ctx, u)
    const renamed = await ctx.req('PATCH', `${API}/projects/${q.id}`, {
      token: u.token,
      body: { name: unique('Renamed ') },
    })
    expect(renamed.status).toBe(200)
    expect(renamed.body.slug).toBe(q.slug)
  })

  test('name is unique per owner, case-insensitively (409), but free across owners', async () => {
    const ctx = await testApp()
    const [a, b] = await users(ctx, 2)
    const name = unique('Dup ')
    await makeProject(ctx, a!, { name })
    expectProblem(
      await ctx.req('POST', `${API}/projects`, { token: a!.token, body: { name: name.toUpperCase() } }),
      409,
      'conflict',
    )
    await makeProject(ctx, b!, { name })
    const other = await makeProject(ctx, a!)
    expectProblem(
      await ctx.req('PATCH', `${API}/projects/${other.id}`, {
        token: a!.token,
        body: { name: name.toLowerCase() },
      }),
      409,
      'conflict',
    )
  })
})

describe('GET /projects/{id} authorization', () => {
  test('non-members get 404, malformed ids 404, unknown ids 404', async () => {
    const ctx = await testApp()
    const { project, outsider } = await team(ctx)
    expectProblem(
      await ctx.req('GET', `${API}/projects/${project.id}`, { token: outsider.token }),
      404,
      'not_found',
    )
    expectProblem(
      await ctx.req('PATCH', `${API}/projects/${project.id}`, { token: outsider.token, body: { name: 'x' } }),
      404,
    )
    expectProblem(await ctx.req('DELETE', `${API}/projects/${project.id}`, { token: outsider.token }), 404)
    expectProblem(await ctx.req('GET', `${API}/projects/not-a-uuid`, { token: outsider.token }), 404)
    expectProblem(await ctx.req('GET', `${API}/projects/${MISSING_ID}`, { token: outsider.token }), 404)
  })

  test('members see their role; only the owner may change or delete (403 for editor and viewer)', async () => {
    const ctx = await testApp()
    const { project, editor, viewer } = await team(ctx)
    const asViewer = await ctx.req('GET', `${API}/projects/${project.id}`, { token: viewer.token })
    expect(asViewer.body.my_role).toBe('viewer')
    const asEditor = await ctx.req('GET', `${API}/projects/${project.id}`, { token: editor.token })
    expect(asEditor.body.my_role).toBe('editor')
    for (const who of [editor, viewer]) {
      expectProblem(
        await ctx.req('PATCH', `${API}/projects/${project.id}`, { token: who.token, body: { name: 'x' } }),
        403,
        'forbidden',
      )
      expectProblem(
        await ctx.req('DELETE', `${API}/projects/${project.id}`, { token: who.token }),
        403,
        'forbidden',
      )
    }
  })

  test('resolves the project and role in one query (plus the token lookup)', async () => {
    const ctx = await testApp()
    const { project, editor } = await team(ctx)
    const { result, count } = await countQueries(() =>
      ctx.req('GET', `${API}/projects/${project.id}`, { token: editor.token }),
    )
    expect(result.status).toBe(200)
    expect(count).toBe(2)
  })
})

describe('PATCH /projects/{id}', () => {
  test('updates fields, bumps version and updated_at, writes project.updated with changes', async () => {
    const ctx = await testApp()
    const u = await createUser(ctx)
    const p = await makeProject(ctx, u)
    const name = unique('New <i>name</i> ')
    const res = await ctx.req('PATCH', `${API}/projects/${p.id}`, {
      token: u.token,
      body: { name, status: 'archived', description: 'desc' },
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      name: name.replace(/<\/?i>/g, ''),
      status: 'archived',
      description: 'desc',
      version: 2,
    })
    expect(res.headers.get('etag')).toBe('"2"')
    expect(Date.parse(res.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(res.body.created_at))
    const [ev] = await ctx.db.select().from(events).where(eq(events.projectId, p.id))
    expect(ev!.type).toBe('project.updated')
    expect(ev!.actorId).toBe(u.id)
    const data = ev!.data as Record<string, any>
    expect(data.changes).toEqual({
      name: [p.name, res.body.name],
      description: ['', 'desc'],
      status: ['active', 'archived'],
    })
    expect(data.version).toBe(2)
  })

  test('a no-op PATCH changes nothing', async () => {
    const ctx = await testApp()
    const u = await createUser(ctx)
    const p = await makeProject(ctx, u)
    const res = await ctx.req('PATCH', `${API}/projects/${p.id}`, { token: u.token, body: { name: p.name } })
    expect(res.status).toBe(200)
    expect(res.body.version).toBe(1)
  })

  test('rejects unknown fields and bad values', async () => {
    const ctx = await testApp()
    const u = await createUser(ctx)
    const p = await makeProject(ctx, u)
    for (const body of [
      { owner_id: u.id },
      { id: MISSING_ID },
      { version: 9 },
      { name: '<p></p>' },
      { status: 'x' },
    ])
      expectProblem(await ctx.req('PATCH', `${API}/projects/${p.id}`, { token: u.token, body }), 422)
  })

  test('If-Match: stale is 412, current/weak/unquoted/* pass', async () => {
    const ctx = await testApp()
    const u = await createUser(ctx)
    const p = await makeProject(ctx, u)
    const patch = (ifMatch: string, description: string) =>
      ctx.req('PATCH', `${API}/projects/${p.id}`, {
        token: u.token,
        body: { description },
        headers: { 'if-match': ifMatch },
      })
    expectProblem(await patch('"7"', 'a'), 412, 'precondition_failed')
    expectProblem(await patch('garbage', 'a'), 412, 'precondition_failed')
    expect((await patch('"1"', 'a')).body.version).toBe(2)
    expect((await patch('2', 'b')).body.version).toBe(3)
    expect((await patch('W/"3"', 'c')).body.version).toBe(4)
    expect((await patch('*', 'd')).body.version).toBe(5)
    expectProblem(await patch('"4"', 'e'), 412)
    expectProblem(
      await ctx.req('DELETE', `${API}/projects/${p.id}`, { token: u.token, headers: { 'if-match': '"1"' } }),
      412,
    )
  })

  test('concurrent PATCHes without If-Match all apply: versions end consistent', async () => {
    const ctx = await testApp()
    const u = await createUser(ctx)
    const p = await makeProject(ctx, u)
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        ctx.req('PATCH', `${API}/projects/${p.id}`, { token: u.token, body: { description: `d${i}` } }),
      ),
    )
    for (const r of results) expect(r.status).toBe(200)
    expect(new Set(results.map((r) => r.body.version)).size).toBe(10)
    const final = await ctx.req('GET', `${API}/projects/${p.id}`, { token: u.token })
    expect(final.body.version).toBe(11)
    const evs = await ctx.db.select().from(events).where(eq(events.projectId, p.id))
    expect(evs.length).toBe(10)
  })

  test('concurrent PATCHes with the same If-Match: exactly one wins, the rest get 412', async () => {
    const ctx = await testApp()
    const u = await createUser(ctx)
    const p = await makeProject(ctx, u)
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        ctx.req('PATCH', `${API}/projects/${p.id}`, {
          token: u.token,
          body: { description: `d${i}` },
          headers: { 'if-match': '"1"' },
        }),
      ),
    )
    expect(results.filter((r) => r.status === 200).length).toBe(1)
    expect(results.filter((r) => r.status === 412).length).toBe(4)
  })
})

describe('delete, restore, trash', () => {
  test('soft delete hides the project everywhere; restore brings it back', async () => {
    const ctx = await testApp()
    const { project, owner, editor } = await team(ctx)
    const del = await ctx.req('DELETE', `${API}/projects/${project.id}`, { token: owner.token })
    expect(del.status).toBe(204)
    expect(del.text).toBe('')
    for (const who of [owner, editor]) {
      expectProblem(await ctx.req('GET', `${API}/projects/${project.id}`, { token: who.token }), 404)
      const list = await ctx.req('GET', `${API}/projects?page_size=100`, { token: who.token })
      expect(list.body.items.map((p: { id: string }) => p.id)).not.toContain(project.id)
      expectProblem(await ctx.req('GET', `${API}/projects/${project.id}/tasks`, { token: who.token }), 404)
    }
    expectProblem(await ctx.req('DELETE', `${API}/projects/${project.id}`, { token: owner.token }), 404)
    const trash = await ctx.req('GET', `${API}/projects/trash`, { token: owner.token })
    expect(trash.status).toBe(200)
    const item = trash.body.items.find((p: { id: string }) => p.id === project.id)
    expect(item).toBeDefined()
    expect(Date.parse(item.purge_at) - Date.parse(item.deleted_at)).toBe(30 * 86_400_000)
    const editorTrash = await ctx.req('GET', `${API}/projects/trash`, { token: editor.token })
    expect(editorTrash.body.items.map((p: { id: string }) => p.id)).not.toContain(project.id)
    expectProblem(
      await ctx.req('POST', `${API}/projects/${project.id}/restore`, { token: editor.token }),
      403,
    )
    const restored = await ctx.req('POST', `${API}/projects/${project.id}/restore`, { token: owner.token })
    expect(restored.status).toBe(200)
    expect(restored.body.my_role).toBe('owner')
    expect(restored.headers.get('etag')).toBe(`"${restored.body.version}"`)
    expect((await ctx.req('GET', `${API}/projects/${project.id}`, { token: editor.token })).status).toBe(200)
    expectProblem(await ctx.req('POST', `${API}/projects/${project.id}/restore`, { token: owner.token }), 404)
    const types = (await ctx.db.select().from(events).where(eq(events.projectId, project.id))).map(
      (e) => e.type,
    )
    expect(types).toContain('project.deleted')
    expect(types).toContain('project.restored')
  })

  test('after 30 days a deleted project cannot be restored (404) and leaves the trash', async () => {
    const ctx = await testApp()
    const u = await createUser(ctx)
    const p = await makeProject(ctx, u)
    await ctx.req('DELETE', `${API}/projects/${p.id}`, { token: u.token })
    await ctx.db
      .update(projects)
      .set({ deletedAt: new Date(Date.now() - 31 * 86_400_000) })
      .where(eq(projects.id, p.id))
    expectProblem(await ctx.req('POST', `${API}/projects/${p.id}/restore`, { token: u.token }), 404)
    const trash = await ctx.req('GET', `${API}/projects/trash`, { token: u.token })
    expect(trash.body.items.map((x: { id: string }) => x.id)).not.toContain(p.id)
  })

  test('restoring is a 409 when the owner reused the name meanwhile; outsiders get 404', async () => {
    const ctx = await testApp()
    const [u, other] = await users(ctx, 2)
    const p = await makeProject(ctx, u!)
    await ctx.req('DELETE', `${API}/projects/${p.id}`, { token: u!.token })
    expectProblem(await ctx.req('POST', `${API}/projects/${p.id}/restore`, { token: other!.token }), 404)
    await makeProject(ctx, u!, { name: p.name })
    expectProblem(
      await ctx.req('POST', `${API}/projects/${p.id}/restore`, { token: u!.token }),
      409,
      'conflict',
    )
  })
})

describe('POST /projects/{id}/transfer', () => {
  test('makes a member the owner; the old owner becomes editor', async () => {
    const ctx = await testApp()
    const { project, owner, editor, viewer } = await team(ctx)
    expectProblem(
      await ctx.req('POST', `${API}/projects/${project.id}/transfer`, {
        token: editor.token,
        body: { user_id: editor.id },
      }),
      403,
    )
    const res = await ctx.req('POST', `${API}/projects/${project.id}/transfer`, {
      token: owner.token,
      body: { user_id: viewer.id },
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ owner_id: viewer.id, my_role: 'editor', version: 2 })
    const asNew = await ctx.req('GET', `${API}/projects/${project.id}`, { token: viewer.token })
    expect(asNew.body.my_role).toBe('owner')
    const members = await ctx.req('GET', `${API}/projects/${project.id}/members`, { token: viewer.token })
    const roles = Object.fromEntries(members.body.items.map((m: any) => [m.user.id, m.role]))
    expect(roles).toEqual({ [owner.id]: 'editor', [editor.id]: 'editor', [viewer.id]: 'owner' })
    const evs = await ctx.db.select().from(events).where(eq(events.projectId, project.id))
    const updated = evs.find((e) => e.type === 'project.updated')!.data as any
    expect(updated.changes).toEqual({ owner_id: [owner.id, viewer.id] })
    expect(evs.filter((e) => e.type === 'member.updated').length).toBe(2)
    // the old owner can no longer change settings
    expectProblem(
      await ctx.req('PATCH', `${API}/projects/${project.id}`, { token: owner.token, body: { name: 'x' } }),
      403,
    )
  })

  test('the new owner must be a member (422); self is 422; unknown fields 422', async () => {
    const ctx = await testApp()
    const { project, owner, outsider } = await team(ctx)
    const url = `${API}/projects/${project.id}/transfer`
    expectProblem(await ctx.req('POST', url, { token: owner.token, body: { user_id: outsider.id } }), 422)
    expectProblem(await ctx.req('POST', url, { token: owner.token, body: { user_id: owner.id } }), 422)
    expectProblem(
      await ctx.req('POST', url, { token: owner.token, body: { user_id: outsider.id, role: 'x' } }),
      422,
    )
    expectProblem(await ctx.req('POST', url, { token: outsider.token, body: { user_id: outsider.id } }), 404)
  })

  test('a name clash with a project of the new owner is a 409', async () => {
    const ctx = await testApp()
    const [a, b] = await users(ctx, 2)
    const p = await makeProject(ctx, a!)
    await makeProject(ctx, b!, { name: p.name })
    await addMember(ctx, a!, p.id, b!)
    expectProblem(
      await ctx.req('POST', `${API}/projects/${p.id}/transfer`, {
        token: a!.token,
        body: { user_id: b!.id },
      }),
      409,
    )
  })
})
