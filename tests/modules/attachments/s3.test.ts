import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { jobs } from '../../../src/db/schema'
import { memoryLogger } from '../../../src/lib/logger'
import { attachmentJobs, createStorage, DELETE_JOB, S3Storage } from '../../../src/modules/attachments'
import { createTestApp, testSettings } from '../../helpers/app'
import { download, PNG, sha256, upload } from '../../helpers/attachments'
import { API, makeTask, team } from '../../helpers/projects-fixtures'
import { type S3TestServer, startS3Server } from '../../helpers/s3-server'

/** The S3 driver against a real S3-protocol server (s3rver, on loopback), through the HTTP API. */
let s3: S3TestServer
beforeAll(async () => {
  s3 = await startS3Server()
})
afterAll(() => s3?.stop())

async function setup() {
  const tempDir = mkdtempSync(join(tmpdir(), 'tb-s3-spool-'))
  const prefix = `t${Date.now()}${Math.random().toString(36).slice(2, 6)}/`
  const storage = new S3Storage({ ...s3, prefix, tempDir, listPageSize: 2 })
  const ctx = await createTestApp({ deps: { storage } })
  const t = await team(ctx)
  const task = await makeTask(ctx, t.owner, t.project.id)
  const log = memoryLogger('debug')
  const [del, sweep] = attachmentJobs({ db: ctx.db, storage, logger: log.logger })
  const client = new Bun.S3Client(s3)
  return { ctx, ...t, task, storage, prefix, tempDir, client, del: del!, sweep: sweep!, log }
}

describe('attachments on S3', () => {
  test('upload, list, download with ETag and Range, delete: the object follows the row', async () => {
    const { ctx, editor, viewer, task, prefix, tempDir, client, del } = await setup()
    const res = await upload(ctx, editor.token, task.id, PNG, 'pic.png')
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({ content_type: 'image/png', size: PNG.byteLength, sha256: sha256(PNG) })
    const key = `${prefix}${res.body.id}`
    expect(await client.exists(key)).toBe(true)
    expect(new Uint8Array(await client.file(key).arrayBuffer())).toEqual(PNG)
    expect(readdirSync(tempDir)).toEqual([]) // the spooled file is gone once it is in the bucket

    const got = await download(ctx, viewer.token, res.body.id)
    expect(got.status).toBe(200)
    expect(got.bytes).toEqual(PNG)
    expect(got.headers.get('content-length')).toBe(String(PNG.byteLength))
    expect(got.headers.get('content-type')).toBe('image/png')
    expect(got.headers.get('location')).toBeNull() // streamed, never a redirect to the bucket
    const part = await download(ctx, viewer.token, res.body.id, { range: 'bytes=1-3' })
    expect(part.status).toBe(206)
    expect(part.bytes).toEqual(PNG.slice(1, 4))
    expect(part.headers.get('content-range')).toBe(`bytes 1-3/${PNG.byteLength}`)
    expect(
      (await download(ctx, viewer.token, res.body.id, { 'if-none-match': `"${sha256(PNG)}"` })).status,
    ).toBe(304)

    expect(
      (await ctx.req('DELETE', `${API}/attachments/${res.body.id}`, { token: editor.token })).status,
    ).toBe(204)
    const queued = (await ctx.db.select().from(jobs).where(eq(jobs.type, DELETE_JOB))).find((j) =>
      (j.payload.keys as string[]).includes(res.body.id),
    )
    await del.handle(queued!.payload)
    expect(await client.exists(key)).toBe(false)
  })

  test('a missing object is a 404; the sweep pages through the bucket, removes orphans, reports rows without objects', async () => {
    const { ctx, editor, task, storage, prefix, client, sweep, log } = await setup()
    const kept = await upload(ctx, editor.token, task.id, 'kept', 'kept.txt')
    const lost = await upload(ctx, editor.token, task.id, 'lost', 'lost.txt')
    await storage.delete(lost.body.id)
    expect((await download(ctx, editor.token, lost.body.id)).status).toBe(404)
    const orphans = [Bun.randomUUIDv7(), Bun.randomUUIDv7(), Bun.randomUUIDv7()]
    for (const k of orphans) await client.write(`${prefix}${k}`, 'orphan')
    await client.write(`${prefix}not-an-id`, 'ignored') // not ours: never touched
    // young objects are left alone (an upload may be between its put and its commit)
    expect(await sweep.handle({})).toMatchObject({ objects: 4, orphans: 0 })
    const { sweepAttachments } = await import('../../../src/modules/attachments')
    const later = await sweepAttachments(ctx.db, storage, log.logger, Date.now() + 2 * 3_600_000)
    expect(later).toMatchObject({ objects: 4, orphans: 3 })
    for (const k of orphans) expect(await client.exists(`${prefix}${k}`)).toBe(false)
    expect(await client.exists(`${prefix}${kept.body.id}`)).toBe(true)
    expect(await client.exists(`${prefix}not-an-id`)).toBe(true)
    const reported = log.entries().filter((e) => e.msg === 'attachment object is missing from storage')
    expect(reported.map((e) => e.attachment_id)).toContain(lost.body.id)
  })

  test('S3_BUCKET in the settings selects the S3 driver; without it, a directory', () => {
    const settings = testSettings({
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    })
    const storage = createStorage(settings)
    expect(storage.kind).toBe('s3')
    expect(storage.tempDir).toEndWith('upload-tmp')
    expect(createStorage(testSettings()).kind).toBe('local')
  })
})
