import { describe, expect, test } from 'bun:test'
import { and, eq } from 'drizzle-orm'
import { attachments, events, jobs } from '../../../src/db/schema'
import { DELETE_JOB } from '../../../src/modules/attachments'
import { expectProblem } from '../../helpers/app'
import { download, PNG, sha256, upload } from '../../helpers/attachments'
import { API, MISSING_ID, makeTask, team, testApp } from '../../helpers/projects-fixtures'

async function setup() {
  const ctx = await testApp()
  const t = await team(ctx)
  const task = await makeTask(ctx, t.owner, t.project.id)
  return { ctx, ...t, task }
}

const deleteJobKeys = async (ctx: Awaited<ReturnType<typeof testApp>>, key: string) => {
  const rows = await ctx.db.select().from(jobs).where(eq(jobs.type, DELETE_JOB))
  return rows.filter((j) => (j.payload.keys as string[]).includes(key))
}

describe('attachments', () => {
  test('an editor uploads; the row, the event and the stored bytes match; members list it', async () => {
    const { ctx, editor, viewer, task, project } = await setup()
    const res = await upload(ctx, editor.token, task.id, PNG, 'photo.png', { type: 'text/html' })
    expect(res.status).toBe(201)
    expect(res.body).toEqual({
      id: expect.any(String),
      task_id: task.id,
      filename: 'photo.png',
      content_type: 'image/png', // from the bytes, not the claimed text/html
      size: PNG.byteLength,
      sha256: sha256(PNG),
      created_by: editor.id,
      created_at: expect.any(String),
    })
    expect(res.headers.get('location')).toBe(`${API}/attachments/${res.body.id}/content`)
    const [row] = await ctx.db.select().from(attachments).where(eq(attachments.id, res.body.id))
    expect(row?.storageKey).toBe(res.body.id)
    const evs = await ctx.db
      .select()
      .from(events)
      .where(and(eq(events.projectId, project.id), eq(events.type, 'attachment.created')))
    expect(evs.map((e) => e.data)).toEqual([res.body])

    const second = await upload(ctx, editor.token, task.id, 'a,b\n1,2\n', 'data.csv')
    expect(second.body.content_type).toBe('text/csv')
    const list = await ctx.req('GET', `${API}/tasks/${task.id}/attachments?page_size=1`, {
      token: viewer.token,
    })
    expect(list.status).toBe(200)
    expect(list.body).toMatchObject({ total: 2, pages: 2 })
    expect(list.body.items).toEqual([res.body])
    const p2 = await ctx.req('GET', `${API}/tasks/${task.id}/attachments?page=2&page_size=1`, {
      token: viewer.token,
    })
    expect(p2.body.items).toEqual([second.body])

    const got = await download(ctx, viewer.token, res.body.id)
    expect(got.status).toBe(200)
    expect(got.bytes).toEqual(PNG)
    expect(got.headers.get('content-type')).toBe('image/png')
    expect(got.headers.get('content-disposition')).toBe(
      `attachment; filename="photo.png"; filename*=UTF-8''photo.png`,
    )
    expect(got.headers.get('x-content-type-options')).toBe('nosniff')
    expect(got.headers.get('content-security-policy')).toContain('sandbox')
    expect(got.headers.get('etag')).toBe(`"${sha256(PNG)}"`)
    expect(got.headers.get('accept-ranges')).toBe('bytes')
    expect(got.headers.get('x-request-id')).toBeTruthy()
    const csv = await download(ctx, viewer.token, second.body.id)
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8')
  })

  test('who may upload, list and download: 401, 403 for viewers, 404 for strangers and unknown ids', async () => {
    const { ctx, editor, viewer, outsider, task } = await setup()
    expectProblem(await upload(ctx, undefined, task.id, PNG, 'a.png'), 401, 'unauthorized')
    expectProblem(await upload(ctx, viewer.token, task.id, PNG, 'a.png'), 403, 'forbidden')
    expectProblem(await upload(ctx, outsider.token, task.id, PNG, 'a.png'), 404, 'not_found')
    expectProblem(await upload(ctx, editor.token, MISSING_ID, PNG, 'a.png'), 404, 'not_found')
    expectProblem(await upload(ctx, editor.token, 'nope', PNG, 'a.png'), 404, 'not_found')
    const ok = await upload(ctx, editor.token, task.id, PNG, 'a.png')
    expect(ok.status).toBe(201)
    expectProblem(await ctx.req('GET', `${API}/tasks/${task.id}/attachments`), 401)
    expectProblem(await ctx.req('GET', `${API}/tasks/${task.id}/attachments`, { token: outsider.token }), 404)
    expectProblem(
      await ctx.req('GET', `${API}/tasks/${MISSING_ID}/attachments`, { token: viewer.token }),
      404,
    )
    expect((await download(ctx, undefined, ok.body.id)).status).toBe(401)
    expect((await download(ctx, outsider.token, ok.body.id)).status).toBe(404)
    expect((await download(ctx, viewer.token, MISSING_ID)).status).toBe(404)
    expectProblem(await ctx.req('DELETE', `${API}/attachments/${ok.body.id}`, { token: outsider.token }), 404)
    expectProblem(await ctx.req('DELETE', `${API}/attachments/${ok.body.id}`), 401)
    // nothing was stored by the refused uploads
    const rows = await ctx.db.select().from(attachments).where(eq(attachments.taskId, task.id))
    expect(rows.length).toBe(1)
  })

  test('a body that is not multipart is a 415; no file field or two files is a 422; a bad body a 400', async () => {
    const { ctx, editor, task } = await setup()
    const url = `${API}/tasks/${task.id}/attachments`
    expectProblem(await ctx.req('POST', url, { token: editor.token, body: { file: 'x' } }), 415)
    const none = new FormData()
    none.append('note', 'hello')
    expectProblem(await upload(ctx, editor.token, task.id, '', '', { form: none }), 422, 'validation_failed')
    const other = await upload(ctx, editor.token, task.id, PNG, 'a.png', { field: 'upload' })
    expectProblem(other, 422, 'validation_failed')
    const two = new FormData()
    two.append('file', new Blob([PNG]), 'a.png')
    two.append('file', new Blob([PNG]), 'b.png')
    expectProblem(await upload(ctx, editor.token, task.id, '', '', { form: two }), 422, 'validation_failed')
    const broken = await ctx.app.handle(
      new Request(`http://localhost${url}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${editor.token}`,
          'content-type': 'multipart/form-data; boundary=XYZ',
        },
        body: '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello',
      }),
    )
    expect(broken.status).toBe(400)
    const rows = await ctx.db.select().from(attachments).where(eq(attachments.taskId, task.id))
    expect(rows.length).toBe(0)
  })

  test('ETag with If-None-Match, and single ranges: 206, suffix, open-ended, 416, several ranges, If-Range', async () => {
    const { ctx, editor, viewer, task } = await setup()
    const text = '0123456789abcdefghij'
    const { body } = await upload(ctx, editor.token, task.id, text, 'digits.txt')
    expect(body.content_type).toBe('text/plain')
    const etag = `"${sha256(text)}"`
    const notModified = await download(ctx, viewer.token, body.id, { 'if-none-match': `"other", ${etag}` })
    expect(notModified.status).toBe(304)
    expect(notModified.bytes.byteLength).toBe(0)
    expect(notModified.headers.get('etag')).toBe(etag)
    const dec = (b: Uint8Array) => new TextDecoder().decode(b)
    const r1 = await download(ctx, viewer.token, body.id, { range: 'bytes=2-5' })
    expect(r1.status).toBe(206)
    expect(dec(r1.bytes)).toBe('2345')
    expect(r1.headers.get('content-range')).toBe('bytes 2-5/20')
    const r2 = await download(ctx, viewer.token, body.id, { range: 'bytes=-3' })
    expect([r2.status, dec(r2.bytes), r2.headers.get('content-range')]).toEqual([
      206,
      'hij',
      'bytes 17-19/20',
    ])
    const r3 = await download(ctx, viewer.token, body.id, { range: 'bytes=15-' })
    expect([r3.status, dec(r3.bytes)]).toEqual([206, 'fghij'])
    const r4 = await download(ctx, viewer.token, body.id, { range: 'bytes=10-999' })
    expect([r4.status, dec(r4.bytes), r4.headers.get('content-range')]).toEqual([
      206,
      'abcdefghij',
      'bytes 10-19/20',
    ])
    const bad = await download(ctx, viewer.token, body.id, { range: 'bytes=20-' })
    expect(bad.status).toBe(416)
    expect(bad.headers.get('content-range')).toBe('bytes */20')
    expect(bad.headers.get('content-type')).toBe('application/problem+json')
    for (const range of ['bytes=0-1,4-5', 'bytes=5-2', 'items=0-1', 'bytes=abc'])
      expect((await download(ctx, viewer.token, body.id, { range })).status).toBe(200)
    const stale = await download(ctx, viewer.token, body.id, { range: 'bytes=0-1', 'if-range': '"old"' })
    expect([stale.status, dec(stale.bytes)]).toEqual([200, text])
    const fresh = await download(ctx, viewer.token, body.id, { range: 'bytes=0-1', 'if-range': etag })
    expect([fresh.status, dec(fresh.bytes)]).toEqual([206, '01'])
  })

  test('the uploader or the owner deletes; others get 403; the object goes with the row', async () => {
    const { ctx, owner, editor, viewer, task, project } = await setup()
    const mine = await upload(ctx, editor.token, task.id, PNG, 'a.png')
    const ownerFile = await upload(ctx, owner.token, task.id, PNG, 'b.png')
    expectProblem(await ctx.req('DELETE', `${API}/attachments/${mine.body.id}`, { token: viewer.token }), 403)
    expectProblem(
      await ctx.req('DELETE', `${API}/attachments/${ownerFile.body.id}`, { token: editor.token }),
      403,
    )
    expect(
      (await ctx.req('DELETE', `${API}/attachments/${mine.body.id}`, { token: editor.token })).status,
    ).toBe(204)
    expect(
      (await ctx.req('DELETE', `${API}/attachments/${ownerFile.body.id}`, { token: owner.token })).status,
    ).toBe(204)
    expect((await download(ctx, owner.token, mine.body.id)).status).toBe(404)
    expectProblem(await ctx.req('DELETE', `${API}/attachments/${mine.body.id}`, { token: owner.token }), 404)
    const evs = await ctx.db
      .select()
      .from(events)
      .where(and(eq(events.projectId, project.id), eq(events.type, 'attachment.deleted')))
    expect(evs.map((e) => (e.data as { id: string }).id).sort()).toEqual(
      [mine.body.id, ownerFile.body.id].sort(),
    )
    // the trigger queued the removal of each object, in the delete's transaction
    expect((await deleteJobKeys(ctx, mine.body.id)).length).toBe(1)
    expect((await deleteJobKeys(ctx, ownerFile.body.id)).length).toBe(1)
  })

  test('deleting the task removes its attachments and queues their objects for deletion', async () => {
    const { ctx, editor, owner, task } = await setup()
    const a = await upload(ctx, editor.token, task.id, PNG, 'a.png')
    const b = await upload(ctx, editor.token, task.id, 'hello', 'b.txt')
    expect((await ctx.req('DELETE', `${API}/tasks/${task.id}`, { token: owner.token })).status).toBe(204)
    expect(await ctx.db.select().from(attachments).where(eq(attachments.taskId, task.id))).toEqual([])
    const [job] = await deleteJobKeys(ctx, a.body.id)
    expect((job!.payload.keys as string[]).sort()).toEqual([a.body.id, b.body.id].sort())
  })
})

describe('attachments and the rest of the lifecycle', () => {
  test('purging a project from the trash queues the deletion of all its files', async () => {
    const { ctx, owner, editor, task, project } = await setup()
    const a = await upload(ctx, editor.token, task.id, PNG, 'a.png')
    const other = await makeTask(ctx, owner, project.id)
    const b = await upload(ctx, editor.token, other.id, 'text', 'b.txt')
    expect((await ctx.req('DELETE', `${API}/projects/${project.id}`, { token: owner.token })).status).toBe(
      204,
    )
    // trashed: the files stay (a restore brings them back), strangers and members alike get 404
    expect((await download(ctx, owner.token, a.body.id)).status).toBe(404)
    expect(await deleteJobKeys(ctx, a.body.id)).toEqual([])
    const { projects } = await import('../../../src/db/schema')
    await ctx.db
      .update(projects)
      .set({ deletedAt: new Date(Date.now() - 31 * 86_400_000) })
      .where(eq(projects.id, project.id))
    const { purgeTrash } = await import('../../../src/modules/projects')
    await purgeTrash(ctx.db)
    const keys = (await ctx.db.select().from(jobs).where(eq(jobs.type, DELETE_JOB))).flatMap(
      (j) => j.payload.keys as string[],
    )
    expect(keys).toEqual(expect.arrayContaining([a.body.id, b.body.id]))
  })

  test('HEAD of the content answers the headers without the bytes', async () => {
    const { ctx, editor, viewer, task } = await setup()
    const a = await upload(ctx, editor.token, task.id, 'hello world', 'h.txt')
    const res = await ctx.app.handle(
      new Request(`http://localhost${API}/attachments/${a.body.id}/content`, {
        method: 'HEAD',
        headers: { authorization: `Bearer ${viewer.token}` },
      }),
    )
    expect(res.status).toBe(200)
    expect(res.headers.get('etag')).toBe(`"${sha256('hello world')}"`)
    expect(res.headers.get('content-disposition')).toContain('h.txt')
    expect((await res.arrayBuffer()).byteLength).toBe(0)
  })
})
