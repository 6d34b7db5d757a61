import { describe, expect, test } from 'bun:test'
import { and, eq, sql } from 'drizzle-orm'
import { idempotencyKeys, projects, tasks } from '../../src/db/schema'
import { createUser, expectProblem, unique } from '../helpers/app'
import { usingPostgres } from '../helpers/db'
import { API, makeProject, testApp } from '../helpers/projects-fixtures'

describe('Idempotency-Key on POST', () => {
  test('a repeat with the same key and body replays status, body and Location; nothing changes', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const key = unique('key-')
    const body = { name: unique('Idem '), description: 'x' }
    const first = await ctx.req('POST', `${API}/projects`, {
      token: me.token,
      body,
      headers: { 'idempotency-key': key },
    })
    expect(first.status).toBe(201)
    expect(first.headers.get('idempotency-replayed')).toBeNull()
    const again = await ctx.req('POST', `${API}/projects`, {
      token: me.token,
      body: { description: 'x', name: body.name },
      headers: { 'idempotency-key': key },
    })
    expect(again.status).toBe(201)
    expect(again.headers.get('idempotency-replayed')).toBe('true')
    expect(again.body).toEqual(first.body)
    expect(again.headers.get('location')).toBe(first.headers.get('location'))
    expect(again.headers.get('etag')).toBe('"1"')
    expect(again.headers.get('content-type')).toStartWith('application/json')
    const mine = await ctx.db.select().from(projects).where(eq(projects.ownerId, me.id))
    expect(mine.length).toBe(1)
  })

  test('same key with a different body is a 422; keys are per user', async () => {
    const ctx = await testApp()
    const [a, b] = [await createUser(ctx), await createUser(ctx)]
    const key = unique('key-')
    const p = await makeProject(ctx, a)
    const url = `${API}/projects/${p.id}/tasks`
    expect(
      (
        await ctx.req('POST', url, {
          token: a.token,
          body: { title: 'one' },
          headers: { 'idempotency-key': key },
        })
      ).status,
    ).toBe(201)
    expectProblem(
      await ctx.req('POST', url, {
        token: a.token,
        body: { title: 'two' },
        headers: { 'idempotency-key': key },
      }),
      422,
    )
    // the same key on another endpoint is another request too
    expectProblem(
      await ctx.req('POST', `${API}/projects`, {
        token: a.token,
        body: { title: 'one' },
        headers: { 'idempotency-key': key },
      }),
      422,
    )
    // another user may use the same key: 404 (not a member) is stored for them, not the first user's 201
    const other = await ctx.req('POST', url, {
      token: b.token,
      body: { title: 'one' },
      headers: { 'idempotency-key': key },
    })
    expectProblem(other, 404)
    const replay404 = await ctx.req('POST', url, {
      token: b.token,
      body: { title: 'one' },
      headers: { 'idempotency-key': key },
    })
    expectProblem(replay404, 404)
    expect(replay404.headers.get('idempotency-replayed')).toBe('true')
    expect(replay404.body).toEqual(other.body)
    expect((await ctx.db.select().from(tasks).where(eq(tasks.projectId, p.id))).length).toBe(1)
  })

  test('concurrent duplicates: one runs, the others get 409 or the replay; one resource is created', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    const key = unique('key-')
    const send = () =>
      Promise.all(
        Array.from({ length: 5 }, () =>
          ctx.req('POST', `${API}/projects/${p.id}/tasks`, {
            token: me.token,
            body: { title: 'same' },
            headers: { 'idempotency-key': key },
          }),
        ),
      )
    // On PostgreSQL, hold the project row (creating a task locks it) so the first request is still
    // running when the others arrive: they must see its claim. PGlite runs one statement at a time,
    // so there the requests interleave by themselves.
    let pending: ReturnType<typeof send> | undefined
    if (usingPostgres())
      await ctx.db.transaction(async (tx) => {
        await tx.execute(sql`select 1 from projects where id = ${p.id} for update`)
        pending = send()
        await Bun.sleep(300)
      })
    const res = await (pending ?? send())
    const created = res.filter((r) => r.status === 201 && !r.headers.get('idempotency-replayed'))
    expect(created.length).toBe(1)
    for (const r of res) {
      if (r === created[0]) continue
      if (r.status === 409) expectProblem(r, 409, 'conflict')
      else {
        expect(r.status).toBe(201)
        expect(r.headers.get('idempotency-replayed')).toBe('true')
        expect(r.body).toEqual(created[0]!.body)
      }
    }
    expect(res.filter((r) => r.status === 409).length).toBeGreaterThan(0)
    expect((await ctx.db.select().from(tasks).where(eq(tasks.projectId, p.id))).length).toBe(1)
  })

  test('invalid keys are a 400; anonymous and keyless POSTs are not keyed; expired keys run again', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    // every malformed key is refused before the handler runs: 400, nothing created, nothing claimed
    for (const key of ['', 'x'.repeat(256), 'tab\there', 'ünï']) {
      const name = unique('n')
      const res = await ctx.req('POST', `${API}/projects`, {
        token: me.token,
        body: { name },
        headers: { 'idempotency-key': key },
      })
      expect(expectProblem(res, 400, 'bad_request').detail).toContain('Idempotency-Key')
      expect(await ctx.db.select().from(projects).where(eq(projects.name, name))).toHaveLength(0)
    }
    expect(await ctx.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.userId, me.id))).toHaveLength(
      0,
    )
    expectProblem(
      await ctx.req('POST', `${API}/projects`, { body: { name: 'x' }, headers: { 'idempotency-key': 'k' } }),
      401,
    )
    const key = unique('key-')
    const body = { name: unique('Exp ') }
    const first = await ctx.req('POST', `${API}/projects`, {
      token: me.token,
      body,
      headers: { 'idempotency-key': key },
    })
    await ctx.db
      .update(idempotencyKeys)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(and(eq(idempotencyKeys.userId, me.id), eq(idempotencyKeys.key, key)))
    const again = await ctx.req('POST', `${API}/projects`, {
      token: me.token,
      body,
      headers: { 'idempotency-key': key },
    })
    expect(again.headers.get('idempotency-replayed')).toBeNull()
    expectProblem(again, 409) // ran again: the name is now taken
    expect(first.status).toBe(201)
  })

  test('a failure to store the response returns the real response, logs it and releases the key', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    const key = unique('key-')
    const url = `${API}/projects/${p.id}/tasks`
    const post = () =>
      ctx.req('POST', url, {
        token: me.token,
        body: { title: 'stored?' },
        headers: { 'idempotency-key': key },
      })
    // the task is created (db.execute); saving the response (db.update of idempotency_keys) fails
    const db = ctx.db as any
    const original = db.update
    db.update = (table: unknown) =>
      table === idempotencyKeys
        ? {
            set: () => ({ where: () => Promise.reject(new Error('disk full')) }),
          }
        : original.call(ctx.db, table)
    let first: Awaited<ReturnType<typeof post>>
    try {
      first = await post()
    } finally {
      db.update = original
    }
    expect(first.status).toBe(201)
    expect(first.body.title).toBe('stored?')
    expect(first.headers.get('location')).toContain(first.body.id)
    const logged = ctx.logs.entries().filter((e) => e.msg === 'could not store an idempotent response')
    expect(logged.length).toBe(1)
    expect(JSON.stringify(logged[0])).not.toContain('stored?') // no body in the log
    const [row] = await ctx.db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.userId, me.id), eq(idempotencyKeys.key, key)))
    expect(row).toBeUndefined()
    // the key is free again: a retry runs (no 409 "still being processed" for 24 h)
    const retry = await post()
    expect(retry.status).toBe(201)
    expect(retry.headers.get('idempotency-replayed')).toBeNull()
    const replay = await post()
    expect(replay.headers.get('idempotency-replayed')).toBe('true')
    expect(replay.body).toEqual(retry.body)
  })

  test('a 5xx releases the claim so a retry runs; 204 responses are replayed empty', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    const other = await createUser(ctx)
    const key = unique('key-')
    const add = () =>
      ctx.req('POST', `${API}/projects/${p.id}/members`, {
        token: me.token,
        body: { user_id: other.id, role: 'viewer' },
        headers: { 'idempotency-key': key },
      })
    const original = ctx.db.transaction.bind(ctx.db)
    ;(ctx.db as any).transaction = () => Promise.reject(new Error('db down'))
    let failed: Awaited<ReturnType<typeof add>>
    try {
      failed = await add()
    } finally {
      ;(ctx.db as any).transaction = original
    }
    expectProblem(failed, 500)
    const [row] = await ctx.db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.userId, me.id), eq(idempotencyKeys.key, key)))
    expect(row).toBeUndefined()
    const retry = await add()
    expect(retry.status).toBe(201)
    expect(retry.headers.get('idempotency-replayed')).toBeNull()
    const replay = await add()
    expect(replay.headers.get('idempotency-replayed')).toBe('true')
    expect(replay.body).toEqual(retry.body)
  })
})
