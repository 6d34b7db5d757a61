import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { Settings } from '../../config'
import { isUuid } from '../../lib/api'
import { orElse } from '../../lib/promise'
import { Semaphore } from '../../lib/semaphore'
import { deletesAllowed } from './hold'

/** One stored object, as the sweep and the backup see it. */
export interface StoredObject {
  key: string
  modified: Date
  size: number
}

/** A byte range, both ends included (as in `Range: bytes=a-b`). */
export interface ByteRange {
  start: number
  end: number
}

/**
 * Where attachment bytes live. Keys are attachment ids (UUIDs); `put` moves a complete, fsynced
 * temp file into place, so a key only ever names a whole object.
 */
export interface AttachmentStorage {
  readonly kind: 'local' | 's3'
  /** Where uploads are written while they stream in (on the same filesystem as a local store). */
  readonly tempDir: string
  put(key: string, tmpPath: string, contentType: string): Promise<void>
  /** The bytes (a lazily read Blob or a stream), or null when the object is missing. */
  read(key: string, range?: ByteRange): Promise<Blob | ReadableStream | null>
  /** Deleting a missing object is not an error. */
  delete(key: string): Promise<void>
  list(): AsyncIterable<StoredObject>
}

function checkKey(key: string): string {
  if (!isUuid(key)) throw new Error('attachment storage key must be a UUID')
  return key
}

/** fsync of a directory, so a rename into it survives a crash. */
async function syncDir(dir: string) {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/**
 * A local directory: `<root>/<last two hex digits>/<key>`, temp files in `<root>/.tmp`. `put` is
 * a rename of the fsynced temp file, then an fsync of the directory: after a crash a key holds
 * the whole file or nothing.
 */
export class LocalStorage implements AttachmentStorage {
  readonly kind = 'local'
  readonly tempDir: string
  constructor(readonly root: string) {
    this.tempDir = join(root, '.tmp')
  }

  pathOf(key: string) {
    return join(this.root, checkKey(key).slice(-2), key)
  }

  async put(key: string, tmpPath: string) {
    const path = this.pathOf(key)
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    await rename(tmpPath, path)
    await syncDir(dirname(path))
  }

  async read(key: string, range?: ByteRange) {
    const file = Bun.file(this.pathOf(key))
    if (!(await file.exists())) return null
    return range ? file.slice(range.start, range.end + 1) : file
  }

  async delete(key: string) {
    await deletesAllowed(this.root)
    try {
      await unlink(this.pathOf(key))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    }
  }

  async *list(): AsyncIterable<StoredObject> {
    const dirs = await orElse(readdir(this.root), [] as string[])
    for (const d of dirs) {
      if (!/^[0-9a-f]{2}$/.test(d)) continue
      for (const key of await orElse(readdir(join(this.root, d)), [] as string[])) {
        if (!isUuid(key)) continue
        const s = await orElse(stat(join(this.root, d, key)), null)
        if (s) yield { key, modified: s.mtime, size: s.size }
      }
    }
  }
}

export interface S3Options {
  bucket: string
  endpoint?: string
  region: string
  accessKeyId?: string
  secretAccessKey?: string
  prefix: string
  /** Uploads are spooled here (checked, hashed, sized) before they go to the bucket. */
  tempDir: string
  /** Keys per listing request (S3's maximum, 1,000, by default). */
  listPageSize?: number
}

/** Puts to S3 in flight at once, per process. */
const S3_PUTS = new Semaphore(4)

/** Any S3-compatible bucket through Bun's built-in client; objects under `prefix`. */
export class S3Storage implements AttachmentStorage {
  readonly kind = 's3'
  readonly tempDir: string
  readonly client: Bun.S3Client
  constructor(private readonly opts: S3Options) {
    this.tempDir = opts.tempDir
    this.client = new Bun.S3Client({
      bucket: opts.bucket,
      endpoint: opts.endpoint,
      region: opts.region,
      accessKeyId: opts.accessKeyId,
      secretAccessKey: opts.secretAccessKey,
    })
  }

  private file(key: string) {
    return this.client.file(this.opts.prefix + checkKey(key))
  }

  async put(key: string, tmpPath: string, contentType: string) {
    // Bun's S3 client holds an upload's file in buffers while it sends it (20 concurrent 10 MiB
    // puts: +480 MiB, bench/uploads.ts --storage=s3): a few at a time bound that
    await S3_PUTS.run(() => this.file(key).write(Bun.file(tmpPath), { type: contentType }))
    await orElse(unlink(tmpPath), null)
  }

  async read(key: string, range?: ByteRange) {
    const file = this.file(key)
    if (!(await file.exists())) return null
    // a stream, not the S3File: Bun would answer an S3File body with a redirect to the bucket
    return (range ? file.slice(range.start, range.end + 1) : file).stream()
  }

  async delete(key: string) {
    await this.file(key).delete()
  }

  async *list(): AsyncIterable<StoredObject> {
    let continuationToken: string | undefined
    do {
      const page = await this.client.list({
        prefix: this.opts.prefix,
        maxKeys: this.opts.listPageSize ?? 1000,
        continuationToken,
      })
      for (const o of page.contents ?? []) {
        const key = o.key.slice(this.opts.prefix.length)
        if (isUuid(key)) yield { key, modified: new Date(o.lastModified ?? 0), size: o.size ?? 0 }
      }
      continuationToken = page.isTruncated ? page.nextContinuationToken : undefined
    } while (continuationToken)
  }
}

/** Where attachments are kept on disk: ATTACHMENTS_DIR, else DATA_DIR/attachments. */
export const attachmentsDir = (settings: Pick<Settings, 'ATTACHMENTS_DIR' | 'DATA_DIR'>) =>
  resolve(settings.ATTACHMENTS_DIR ?? join(settings.DATA_DIR, 'attachments'))

/** The storage the settings name: S3 when S3_BUCKET is set, else the directory of `attachmentsDir`. */
export function createStorage(settings: Settings): AttachmentStorage {
  if (settings.S3_BUCKET)
    return new S3Storage({
      bucket: settings.S3_BUCKET,
      endpoint: settings.S3_ENDPOINT,
      region: settings.S3_REGION,
      accessKeyId: settings.S3_ACCESS_KEY_ID,
      secretAccessKey: settings.S3_SECRET_ACCESS_KEY,
      prefix: settings.S3_PREFIX,
      tempDir: resolve(settings.DATA_DIR, 'upload-tmp'),
    })
  return new LocalStorage(attachmentsDir(settings))
}
