import type { TestContext, TestResponse } from './app'
import { recordStatus } from './status-recorder'

/** A real PNG signature plus an IHDR chunk: what file-type needs to call it image/png. */
export const PNG = new Uint8Array([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0,
  1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
])

export const sha256 = (bytes: Uint8Array | string) =>
  new Bun.CryptoHasher('sha256').update(bytes).digest('hex')

/** POST of a multipart body with one `file` part (or the `form` given). */
export function upload(
  ctx: TestContext,
  token: string | undefined,
  taskId: string,
  content: Uint8Array | string,
  filename = 'file.bin',
  o: { field?: string; type?: string; headers?: Record<string, string>; form?: FormData } = {},
): Promise<TestResponse> {
  const form = o.form ?? new FormData()
  if (!o.form)
    form.append(
      o.field ?? 'file',
      new Blob([content], { type: o.type ?? 'application/octet-stream' }),
      filename,
    )
  return ctx.req('POST', `/api/v1/tasks/${taskId}/attachments`, { token, body: form, headers: o.headers })
}

/** GET of an attachment's bytes, through app.handle. */
export async function download(
  ctx: TestContext,
  token: string | undefined,
  id: string,
  headers: Record<string, string> = {},
) {
  const h: Record<string, string> = { ...headers }
  if (token) h.authorization = `Bearer ${token}`
  const url = `http://localhost/api/v1/attachments/${id}/content`
  const res = await ctx.app.handle(new Request(url, { headers: h }))
  recordStatus('GET', url, res.status)
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) }
}
