import type { attachments } from '../../db/schema'
import { AppError, notFound } from '../../lib/errors'
import type { Logger } from '../../lib/logger'
import { contentDisposition, servedType } from './content'
import type { AttachmentStorage, ByteRange } from './storage'

/** A download runs no script and embeds in nothing, even if a browser ignored the disposition. */
export const DOWNLOAD_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"

/**
 * The one range of a `Range` header (RFC 9110 §14): null when it is absent, not `bytes`, malformed
 * or several ranges (then the whole file is sent, as the RFC allows); 'unsatisfiable' when it
 * starts past the end.
 */
export function parseRange(header: string | null, size: number): ByteRange | 'unsatisfiable' | null {
  if (!header) return null
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim())
  if (!m || (m[1] === '' && m[2] === '')) return null
  if (m[1] === '') {
    const n = Number(m[2])
    if (n === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(m[1])
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  if (m[2] !== '' && Number(m[2]) < start) return null
  if (start >= size) return 'unsatisfiable'
  return { start, end }
}

/** True when an `If-None-Match` list names this ETag (weak comparison) or is `*`. */
export function noneMatch(header: string | null, etag: string): boolean {
  if (!header) return false
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '')
    return tag === '*' || tag === etag
  })
}

type Stored = Pick<
  typeof attachments.$inferSelect,
  'id' | 'storageKey' | 'filename' | 'contentType' | 'size' | 'sha256'
>

/**
 * The bytes of an attachment as a streamed response: ETag (the SHA-256) with If-None-Match → 304,
 * one Range → 206 (an If-Range naming another ETag gets the whole file), an unsatisfiable one →
 * 416. A row whose object is missing is logged and answered 404, never a 500.
 */
export async function contentResponse(
  storage: AttachmentStorage,
  logger: Logger,
  a: Stored,
  request: Request,
): Promise<Response> {
  const etag = `"${a.sha256}"`
  const headers: Record<string, string> = {
    etag,
    'cache-control': 'private, no-cache',
    'accept-ranges': 'bytes',
    'x-content-type-options': 'nosniff',
    'content-security-policy': DOWNLOAD_CSP,
  }
  if (noneMatch(request.headers.get('if-none-match'), etag))
    return new Response(null, { status: 304, headers })
  const ifRange = request.headers.get('if-range')
  const range = ifRange && ifRange.trim() !== etag ? null : parseRange(request.headers.get('range'), a.size)
  if (range === 'unsatisfiable')
    throw new AppError('range_not_satisfiable', `The file has ${a.size} bytes`, undefined, {
      'content-range': `bytes */${a.size}`,
    })
  const body = await storage.read(a.storageKey, range ?? undefined)
  if (!body) {
    logger.error('attachment object is missing from storage', { attachment_id: a.id, key: a.storageKey })
    throw notFound('Attachment content')
  }
  headers['content-type'] = servedType(a.contentType)
  headers['content-disposition'] = contentDisposition(a.filename)
  if (!(body instanceof Blob))
    headers['content-length'] = String(range ? range.end - range.start + 1 : a.size)
  if (!range) return new Response(body, { status: 200, headers })
  headers['content-range'] = `bytes ${range.start}-${range.end}/${a.size}`
  return new Response(body, { status: 206, headers })
}
