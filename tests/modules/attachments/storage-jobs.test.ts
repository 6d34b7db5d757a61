import { describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { jobs } from '../../../src/db/schema'
import { memoryLogger } from '../../../src/lib/logger'
import { attachmentJobs, DELETE_JOB, LocalStorage, sweepAttachments } from '../../../src/modules/attachments'
import { contentDisposition, sanitizeFilename } from '../../../src/modules/attachments/content'
import { noneMatch, parseRange } from '../../../src/modules/attachments/download'
import { createTestApp } from '../../helpers/app'
import { PNG, upload } from '../../helpers/attachments'
import { API, makeTask, team } from '../../helpers/projects-fixtures'

const HOUR = 3_600_000

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'tb-att-'))
  const storage = new LocalStorage(dir)
  const ctx = await createTestApp({ deps: { storage } })
  const t = await team(ctx)
  const task = await makeTask(ctx, t.owner, t.project.id)
  const log = memoryLogger('debug')
  const [del, sweep] = attachmentJobs({ db: ctx.db, storage, logger: log.logger })
  return { ctx, ...t, task, dir, storage, del: del!, sweep: sweep!, log }
}

describe('attachment storage and jobs', () => {
  test('local storage: put moves the temp file, read ranges, delete is idempotent, keys must be UUIDs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tb-att-'))
    const s = new LocalStorage(dir)
    mkdirSync(s.tempDir, { recursive: true })
    const tmp = join(s.tempDir, 'x.part')
    writeFileSync(tmp, 'hello world')
    const key = Bun.randomUUIDv7()
    await s.put(key, tmp)
    expect(existsSync(tmp)).toBe(false)
    expect(await (await s.read(key))!.text()).toBe('hello world')
    expect(await (await s.read(key, { start: 6, end: 10 }))!.text()).toBe('world')
    const listed = []
    for await (const o of s.list()) listed.push(o.key)
    expect(listed).toEqual([key])
    await s.delete(key)
    await s.delete(key)
    expect(await s.read(key)).toBeNull()
    expect(() => s.pathOf('../../etc/passwd')).toThrow()
  })

  test('the delete job removes the objects the trigger queued', async () => {
    const { ctx, editor, task, dir, del } = await setup()
    const a = await upload(ctx, editor.token, task.id, PNG, 'a.png')
    const path = join(dir, a.body.id.slice(-2), a.body.id)
    expect(existsSync(path)).toBe(true)
    await ctx.req('DELETE', `${API}/attachments/${a.body.id}`, { token: editor.token })
    expect(existsSync(path)).toBe(true) // the row is gone; the object goes with the job
    const queued = (await ctx.db.select().from(jobs).where(eq(jobs.type, DELETE_JOB))).find((j) =>
      (j.payload.keys as string[]).includes(a.body.id),
    )
    expect(await del.handle(queued!.payload)).toEqual({ deleted: 1 })
    expect(existsSync(path)).toBe(false)
  })

  test('the sweep deletes old orphans and old temp files, keeps young ones and live objects, reports missing objects', async () => {
    const { ctx, editor, task, dir, storage, log, sweep } = await setup()
    const live = await upload(ctx, editor.token, task.id, 'live', 'live.txt')
    const gone = await upload(ctx, editor.token, task.id, 'gone', 'gone.txt')
    await storage.delete(gone.body.id) // a row without its object
    const orphan = Bun.randomUUIDv7()
    const young = Bun.randomUUIDv7()
    for (const key of [orphan, young]) {
      mkdirSync(join(dir, key.slice(-2)), { recursive: true })
      writeFileSync(join(dir, key.slice(-2), key), 'orphan')
    }
    mkdirSync(storage.tempDir, { recursive: true })
    writeFileSync(join(storage.tempDir, 'old.part'), 'partial')
    writeFileSync(join(storage.tempDir, 'new.part'), 'partial')
    const old = new Date(Date.now() - 2 * HOUR)
    utimesSync(join(dir, orphan.slice(-2), orphan), old, old)
    utimesSync(join(storage.tempDir, 'old.part'), old, old)

    const first = (await sweep.handle({})) as Awaited<ReturnType<typeof sweepAttachments>>
    expect(first).toMatchObject({ objects: 3, orphans: 1, temps: 1 })
    expect(existsSync(join(dir, orphan.slice(-2), orphan))).toBe(false)
    expect(existsSync(join(dir, young.slice(-2), young))).toBe(true)
    expect(existsSync(join(storage.tempDir, 'new.part'))).toBe(true)
    // two hours on: the young orphan is old, and the row without an object is reported
    const later = await sweepAttachments(ctx.db, storage, log.logger, Date.now() + 2 * HOUR)
    expect(later.orphans).toBe(1)
    expect(later.missing).toBeGreaterThanOrEqual(1)
    const reported = log.entries().filter((e) => e.msg === 'attachment object is missing from storage')
    expect(reported.map((e) => e.attachment_id)).toContain(gone.body.id)
    expect(reported.map((e) => e.attachment_id)).not.toContain(live.body.id)
    expect(existsSync(join(dir, live.body.id.slice(-2), live.body.id))).toBe(true)
  })

  test('filenames, Content-Disposition, ranges and If-None-Match', () => {
    expect(sanitizeFilename('\u0001\u0009tab\u007f.txt')).toBe('tab.txt')
    expect(sanitizeFilename('', 'file')).toBe('file')
    expect(sanitizeFilename('LPT1')).toBe('_LPT1')
    expect(sanitizeFilename(`${'a'.repeat(300)}`)).toBe('a'.repeat(255))
    expect(contentDisposition('naïve "quote" 100%.pdf')).toBe(
      `attachment; filename="na_ve _quote_ 100_.pdf"; filename*=UTF-8''na%C3%AFve%20%22quote%22%20100%25.pdf`,
    )
    expect(contentDisposition("it's (1).txt")).toContain("filename*=UTF-8''it%27s%20%281%29.txt")
    expect(parseRange(null, 10)).toBeNull()
    expect(parseRange('bytes=0-0', 10)).toEqual({ start: 0, end: 0 })
    expect(parseRange('bytes=-20', 10)).toEqual({ start: 0, end: 9 })
    expect(parseRange('bytes=-0', 10)).toBe('unsatisfiable')
    expect(parseRange('bytes=10-', 10)).toBe('unsatisfiable')
    expect(parseRange('bytes=-', 10)).toBeNull()
    expect(parseRange(`bytes=0-${'9'.repeat(30)}`, 10)).toBeNull()
    expect(noneMatch('W/"abc"', '"abc"')).toBe(true)
    expect(noneMatch('*', '"abc"')).toBe(true)
    expect(noneMatch('"abd"', '"abc"')).toBe(false)
  })
})

describe('streaming UTF-8 check', () => {
  test('characters cut at any chunk boundary are valid; bad bytes, NUL and a cut-off end are not', async () => {
    const { Utf8Check } = await import('../../../src/modules/attachments/upload')
    const text = Buffer.from('aé中😀z'.repeat(3))
    for (let size = 1; size <= 5; size++) {
      const c = new Utf8Check()
      let ok = true
      for (let i = 0; i < text.length; i += size) ok &&= c.check(text.subarray(i, i + size))
      expect(ok && c.end()).toBe(true)
    }
    expect(new Utf8Check().check(Buffer.from([0x61, 0xc3, 0x28]))).toBe(false)
    expect(new Utf8Check().check(Buffer.from('a\u0000b'))).toBe(false)
    const cut = new Utf8Check()
    expect(cut.check(Buffer.from([0x61, 0xe4, 0xb8]))).toBe(true)
    expect(cut.end()).toBe(false)
    const overlong = new Utf8Check()
    expect(overlong.check(Buffer.from([0xc0, 0xaf])) && overlong.end()).toBe(false)
  })
})
