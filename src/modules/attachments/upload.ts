import { isUtf8 } from 'node:buffer'
import { once } from 'node:events'
import { mkdir, open, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import busboy from 'busboy'
import { MULTIPART_ROOM } from '../../lib/api'
import {
  AppError,
  badRequest,
  fieldError,
  payloadTooLarge,
  unsupportedMediaType,
  validationFailed,
} from '../../lib/errors'
import { orElse } from '../../lib/promise'
import type { TextInfo } from './content'

const HEAD_BYTES = 1024

/** A file received into a temp file: fsynced, hashed and measured while it streamed in. */
export interface Received extends TextInfo {
  tmpPath: string
  size: number
  sha256: string
  /** The client's filename, unsanitized. */
  filename: string
}

/**
 * Streams the `file` field of a multipart body into `tmpDir`, never holding more than a few
 * chunks in memory: the size limit is enforced as the bytes arrive (413, and the temp file is
 * removed), the SHA-256 and a UTF-8 check are computed on the way, and the file is fsynced
 * before this returns. Any failure removes the temp file.
 */
export async function receiveUpload(request: Request, tmpDir: string, maxBytes: number): Promise<Received> {
  const type = request.headers.get('content-type') ?? ''
  if (!/^multipart\/form-data\s*;/i.test(type) || !/boundary=/i.test(type))
    throw unsupportedMediaType('Send the file as multipart/form-data, in a field named file')
  if (!request.body) throw validationFailed([fieldError('file', 'is required')])
  await mkdir(tmpDir, { recursive: true, mode: 0o700 })
  const tmpPath = join(tmpDir, `${Bun.randomUUIDv7()}.part`)
  let failure: AppError | null = null
  const fail = (e: AppError) => {
    failure ??= e
  }
  let bb: busboy.Busboy
  try {
    bb = busboy({
      headers: { 'content-type': type },
      defParamCharset: 'utf8',
      limits: { files: 1, fileSize: maxBytes + 1, fields: 16, fieldSize: 4096, parts: 17, headerPairs: 16 },
    })
  } catch {
    throw badRequest('The multipart body is malformed (no boundary)')
  }
  let received: Promise<Omit<Received, 'filename'>> | null = null
  let filename = ''
  let fileStream: NodeJS.ReadableStream | null = null
  bb.on('file', (name, stream, info) => {
    // a truncated body errors the part too: bb's own 'error' reports it, this keeps it handled
    stream.on('error', () => fail(badRequest('The multipart body is malformed')))
    if (name !== 'file' || received) {
      fail(validationFailed([fieldError(name, 'only one file, in the field named file, is accepted')]))
      stream.resume()
      return
    }
    filename = info.filename ?? ''
    // busboy stops the part at maxBytes + 1 bytes and says so before that chunk is read here
    stream.on('limit', () => fail(payloadTooLarge(maxBytes)))
    fileStream = stream
    received = writeFile(stream, tmpPath, () => failure !== null)
  })
  bb.on('filesLimit', () => fail(validationFailed([fieldError('file', 'only one file is accepted')])))
  bb.on('partsLimit', () => fail(badRequest('The multipart body has too many parts')))
  bb.on('fieldsLimit', () => fail(badRequest('The multipart body has too many fields')))
  bb.on('error', () => fail(badRequest('The multipart body is malformed')))
  const closed = orElse(once(bb, 'close'), null)

  const reader = request.body.getReader()
  let total = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      total += value.byteLength
      if (total > maxBytes + MULTIPART_ROOM) fail(payloadTooLarge(maxBytes))
      if (failure) break
      if (!bb.write(value)) await Promise.race([once(bb, 'drain'), closed])
    }
    if (failure) {
      await orElse(reader.cancel(), null)
      ;(fileStream as { destroy?: () => void } | null)?.destroy?.()
      bb.destroy()
      await orElse(received as Promise<unknown> | null, null)
      throw failure
    }
    bb.end()
    await closed
    const file = received ? await (received as Promise<Omit<Received, 'filename'>>) : null
    if (failure) throw failure
    if (!file) throw validationFailed([fieldError('file', 'is required')])
    return { ...file, filename }
  } catch (e) {
    bb.destroy()
    await orElse(unlink(tmpPath), null)
    if (e instanceof AppError) throw e
    if (failure) throw failure
    throw badRequest('The upload was interrupted or malformed')
  }
}

async function writeFile(
  stream: NodeJS.ReadableStream,
  tmpPath: string,
  failed: () => boolean,
): Promise<Omit<Received, 'filename'>> {
  // Bun's native file sink: buffered writes off the JS thread (fewer, larger writes than one
  // fs write per part chunk; the request body then waits less in memory, see bench/uploads.ts)
  const sink = Bun.file(tmpPath).writer({ highWaterMark: 1 << 20 })
  const hash = new Bun.CryptoHasher('sha256')
  const utf8 = new Utf8Check()
  const head = new Uint8Array(HEAD_BYTES)
  let headLength = 0
  let size = 0
  let pending = 0
  let text = true
  try {
    for await (const piece of stream) {
      const chunk = piece as Buffer
      if (failed()) continue
      if (headLength < HEAD_BYTES) {
        const take = chunk.subarray(0, HEAD_BYTES - headLength)
        head.set(take, headLength)
        headLength += take.byteLength
      }
      if (text) text = utf8.check(chunk)
      hash.update(chunk)
      size += chunk.byteLength
      sink.write(chunk)
      pending += chunk.byteLength
      if (pending >= 1 << 20) {
        await sink.flush() // backpressure: wait for the disk every MiB
        pending = 0
      }
    }
    if (text) text = utf8.end()
    await sink.end()
  } catch (e) {
    await orElse(Promise.resolve(sink.end()), null)
    throw e
  }
  const fh = await open(tmpPath, 'r+')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
  return { tmpPath, size, sha256: hash.digest('hex'), text, head: head.slice(0, headLength) }
}

/**
 * UTF-8 validity (and no NUL) over a stream, without decoding it into strings: each chunk is checked
 * with `isUtf8` up to its last whole character; the 1-3 bytes of a character cut by the chunk
 * boundary are carried into the next one.
 */
export class Utf8Check {
  private carry: Buffer = Buffer.alloc(0)

  check(chunk: Buffer): boolean {
    if (chunk.includes(0)) return false
    const data = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk
    let cut = data.length
    // back up over continuation bytes to the lead byte of the last character
    let i = data.length - 1
    while (i >= 0 && i >= data.length - 4 && (data[i]! & 0xc0) === 0x80) i--
    if (i >= 0) {
      const lead = data[i]!
      const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1
      if (data.length - i < need) cut = i
    }
    this.carry = Buffer.from(data.subarray(cut))
    return isUtf8(data.subarray(0, cut))
  }

  /** True when nothing is left over (the stream did not end inside a character). */
  end(): boolean {
    return this.carry.length === 0
  }
}
