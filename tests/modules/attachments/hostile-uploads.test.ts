import { describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { attachments } from '../../../src/db/schema'
import { createTestApp, expectProblem } from '../../helpers/app'
import { download, PNG, upload } from '../../helpers/attachments'
import { makeTask, team } from '../../helpers/projects-fixtures'

const LIMIT = 4096

/** An app whose attachments go to a directory of their own, so "nothing left behind" can be checked. */
async function setup(env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tb-att-'))
  const ctx = await createTestApp({ env: { ATTACHMENTS_DIR: dir, MAX_UPLOAD_BYTES: String(LIMIT), ...env } })
  const t = await team(ctx)
  const task = await makeTask(ctx, t.owner, t.project.id)
  /** Every file under the directory, temp files included. */
  const files = () => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile())
  return { ctx, ...t, task, dir, files }
}

const bytes = (...parts: (string | Uint8Array)[]) =>
  new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p))))

// name, content, filename -> expected status and (for 201) content type
const CASES: [string, Uint8Array | string, string, number, string][] = [
  ['GIF/JavaScript polyglot', 'GIF89a/*\x00\x00*/=alert(document.domain)//;', 'poly.gif', 201, 'image/gif'],
  ['PNG with HTML appended', bytes(PNG, '<html><script>alert(1)</script></html>'), 'p.png', 201, 'image/png'],
  ['PDF with a script tail', '%PDF-1.4\n<script>alert(1)</script>\n%%EOF', 'x.pdf', 201, 'application/pdf'],
  ['HTML named .png', '<!doctype html><html><script>alert(1)</script></html>', 'cat.png', 415, ''],
  ['HTML after whitespace and a BOM', '\ufeff \n <html><body onload=alert(1)>', 'a.txt', 415, ''],
  [
    'SVG with a script',
    '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    'a.svg',
    415,
    '',
  ],
  ['XML declaration', '<?xml version="1.0"?><svg onload="alert(1)"/>', 'a.png', 415, ''],
  ['zero bytes', '', 'empty.txt', 422, ''],
  ['invalid UTF-8 text', bytes('hello ', new Uint8Array([0xc3, 0x28]), ' world'), 'a.txt', 415, ''],
  ['text with a NUL byte', 'abc\x00def', 'a.txt', 415, ''],
  ['a Windows executable', bytes('MZ', new Uint8Array(200)), 'a.png', 415, ''],
  [
    'an ELF binary',
    bytes(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), new Uint8Array(100)),
    'a.txt',
    415,
    '',
  ],
  ['JSON', '{"a": [1, 2, {"b": null}]}', 'data.bin', 201, 'application/json'],
  ['not quite JSON', '{"a": ', 'data.json', 201, 'text/plain'],
  ['CSV by name, text by content', 'a;b\n1;2\n', 'table.csv', 201, 'text/csv'],
  ['exactly the limit', 'x'.repeat(LIMIT), 'full.txt', 201, 'text/plain'],
  ['the limit + 1', 'x'.repeat(LIMIT + 1), 'over.txt', 413, ''],
  ['far over the limit', 'x'.repeat(LIMIT * 50), 'huge.txt', 413, ''],
]

describe('hostile uploads', () => {
  test.each(CASES)('%s', async (_name, content, filename, status, type) => {
    const { ctx, editor, viewer, task, files } = await setup()
    const res = await upload(ctx, editor.token, task.id, content, filename)
    expect(res.status).toBe(status)
    const rows = await ctx.db.select().from(attachments).where(eq(attachments.taskId, task.id))
    if (status !== 201) {
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(rows).toEqual([])
      expect(files()).toEqual([]) // no object, no temp file
      return
    }
    expect(res.body.content_type).toBe(type)
    expect(files().map((f) => f.name)).toEqual([res.body.id])
    const got = await download(ctx, viewer.token, res.body.id)
    expect(got.headers.get('x-content-type-options')).toBe('nosniff')
    expect(got.headers.get('content-disposition')).toStartWith('attachment;')
    expect(got.headers.get('content-security-policy')).toContain('sandbox')
    expect(Buffer.from(got.bytes).equals(Buffer.from(content))).toBe(true)
  })

  const NAMES: [string, string][] = [
    ['../../etc/passwd', 'passwd'],
    ['..\\..\\windows\\win.ini', 'win.ini'],
    ['C:\\Users\\me\\report.txt', 'report.txt'],
    ['invoice\u202Etxt.exe', 'invoicetxt.exe'],
    ['\u2067evil\u2069.txt', 'evil.txt'],
    // FormData percent-encodes CR, LF and the double quote in a part header (HTML spec)
    ['line\r\nbreak.txt', 'line%0D%0Abreak.txt'],
    ['.htaccess', 'htaccess'],
    ['...', 'file'],
    ['CON.txt', '_CON.txt'],
    ['nul', '_nul'],
    ['a<b>c:d"e|f?g*.txt', 'a_b_c_d%22e_f_g_.txt'],
    ['trailing dots. . .', 'trailing dots'],
    ['Ünïcödé 名前.txt', 'Ünïcödé 名前.txt'],
  ]
  test.each(NAMES)('filename %j is stored as %j', async (raw, expected) => {
    const { ctx, editor, task } = await setup()
    const res = await upload(ctx, editor.token, task.id, 'hello', raw)
    expect(res.status).toBe(201)
    expect(res.body.filename).toBe(expected)
  })

  test('a NUL in the part header is a malformed body (400), and nothing is stored', async () => {
    const { ctx, editor, task, files } = await setup()
    expectProblem(await upload(ctx, editor.token, task.id, 'hello', 'a\u0000b.txt'), 400, 'bad_request')
    expect(files()).toEqual([])
  })

  test('a form with too many fields or parts is a 400, and nothing is stored', async () => {
    const { ctx, editor, task, files } = await setup()
    const many = new FormData()
    for (let i = 0; i < 40; i++) many.append(`f${i}`, 'x')
    many.append('file', new Blob(['hello']), 'a.txt')
    expectProblem(await upload(ctx, editor.token, task.id, '', '', { form: many }), 400, 'bad_request')
    expect(files()).toEqual([])
  })

  test('a 1,000-character filename is cut to 255 UTF-8 bytes, keeping its extension', async () => {
    const { ctx, editor, viewer, task } = await setup()
    const res = await upload(ctx, editor.token, task.id, 'hello', `${'é'.repeat(1000)}.txt`)
    expect(res.status).toBe(201)
    expect(Buffer.byteLength(res.body.filename)).toBeLessThanOrEqual(255)
    expect(res.body.filename).toEndWith('é.txt')
    const got = await download(ctx, viewer.token, res.body.id)
    const cd = got.headers.get('content-disposition')!
    expect(cd).toContain(`filename*=UTF-8''${encodeURIComponent('é')}`)
    expect(cd).toMatch(/^attachment; filename="_+\.txt"; /)
  })

  test('a declared body over the limit is refused before authentication and before reading', async () => {
    const { ctx, task } = await setup()
    const res = await ctx.app.handle(
      new Request(`http://localhost/api/v1/tasks/${task.id}/attachments`, {
        method: 'POST',
        headers: {
          'content-type': 'multipart/form-data; boundary=x',
          'content-length': String(LIMIT + 70_000),
        },
        body: 'x',
      }),
    )
    expect(res.status).toBe(413)
  })

  test('a chunked body that goes over the limit is cut off while it streams', async () => {
    const { ctx, editor, task, files } = await setup()
    let sent = 0
    const boundary = 'BOUNDARY'
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent === 0) {
          c.enqueue(
            new TextEncoder().encode(
              `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n`,
            ),
          )
        } else if (sent > 1000) c.close()
        else c.enqueue(new Uint8Array(1024).fill(0x61))
        sent++
      },
    })
    const res = await ctx.app.handle(
      new Request(`http://localhost/api/v1/tasks/${task.id}/attachments`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${editor.token}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
        },
        body,
      }),
    )
    expect(res.status).toBe(413)
    expect(sent).toBeLessThan(100) // stopped reading soon after the limit, not at the end of the stream
    expect(files()).toEqual([])
  })

  test('ATTACHMENT_TYPES narrows the allowed list; PROJECT_STORAGE_BYTES is a quota (413 storage_quota_exceeded)', async () => {
    const narrow = await setup({ ATTACHMENT_TYPES: 'image/png' })
    expectProblem(await upload(narrow.ctx, narrow.editor.token, narrow.task.id, 'hello', 'a.txt'), 415)
    expect((await upload(narrow.ctx, narrow.editor.token, narrow.task.id, PNG, 'a.png')).status).toBe(201)

    const q = await setup({ PROJECT_STORAGE_BYTES: '100' })
    expect((await upload(q.ctx, q.editor.token, q.task.id, 'x'.repeat(60), 'a.txt')).status).toBe(201)
    const over = await upload(q.ctx, q.editor.token, q.task.id, 'x'.repeat(41), 'b.txt')
    expectProblem(over, 413, 'storage_quota_exceeded')
    expect((await upload(q.ctx, q.editor.token, q.task.id, 'x'.repeat(40), 'c.txt')).status).toBe(201)
    // full: refused before the body is read
    expectProblem(await upload(q.ctx, q.editor.token, q.task.id, 'x', 'd.txt'), 413, 'storage_quota_exceeded')
    expect(q.files().length).toBe(2)
    // concurrent uploads cannot go over together: the check is repeated under the project's lock
    const r = await setup({ PROJECT_STORAGE_BYTES: '100' })
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        upload(r.ctx, r.editor.token, r.task.id, 'y'.repeat(30), `${i}.txt`),
      ),
    )
    expect(results.filter((x) => x.status === 201).length).toBe(3)
    expect(r.files().length).toBe(3)
  })

  test('a row whose object is gone answers 404, not 500, and says so in the log', async () => {
    const { ctx, editor, task, dir } = await setup()
    const res = await upload(ctx, editor.token, task.id, 'hello', 'a.txt')
    const { unlinkSync } = await import('node:fs')
    unlinkSync(join(dir, res.body.id.slice(-2), res.body.id))
    const got = await download(ctx, editor.token, res.body.id)
    expect(got.status).toBe(404)
    expect(ctx.logs.entries().some((e) => e.msg === 'attachment object is missing from storage')).toBe(true)
  })
})
