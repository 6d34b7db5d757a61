import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip, createGzip } from 'node:zlib'
import tar from 'tar-stream'
import type { Database } from '../../db/client'
import { isUuid } from '../../lib/api'
import { VERSION } from '../../lib/version'
import { type AttachmentStorage, holdDeletes, LocalStorage, type StoredObject } from '../attachments'

export const MANIFEST = 'taskbase-backup.json'
const DB_ENTRY = 'pgdata.tar.gz'
/** `attachments/<xx>/<id>`: where the file of key `id` goes, the path a LocalStorage gives it. */
const FILE_ENTRY = /^attachments\/[0-9a-f]{2}\/([^/]+)$/
const fileEntryName = (key: string) => `attachments/${key.slice(-2)}/${key}`

export interface Manifest {
  format: 2
  taskbase: string
  created_at: string
  /** Files of the local attachments directory in the archive; null when they live in S3 (not included). */
  attachments: number | null
}

/**
 * A backup of the embedded database and its attachment files, as one gzipped tar streamed out:
 * `taskbase-backup.json`, `pgdata.tar.gz` (PGlite's snapshot, taken between two statements) and
 * `attachments/<xx>/<id>` for every file of a local attachments directory. Deletions of files
 * wait until the copy is done, so every row of the snapshot finds its file in the archive (files
 * added meanwhile come along as orphans, which the sweep removes after a restore).
 */
export function backupStream(database: Database, storage: AttachmentStorage): ReadableStream<Uint8Array> {
  const local = storage instanceof LocalStorage ? storage : null
  const release = local ? holdDeletes(local.root) : () => {}
  const pack = tar.pack()
  const gzip = createGzip({ level: 6 })
  const fill = async () => {
    try {
      const blob: Blob = await database.dump!()
      const dump = Buffer.from(await blob.arrayBuffer())
      const files: (StoredObject & { path: string })[] = []
      if (local) for await (const o of local.list()) files.push({ ...o, path: local.pathOf(o.key) })
      const manifest: Manifest = {
        format: 2,
        taskbase: VERSION,
        created_at: new Date().toISOString(),
        attachments: local ? files.length : null,
      }
      await entry(pack, MANIFEST, Buffer.from(JSON.stringify(manifest, null, 2)))
      await entry(pack, DB_ENTRY, dump)
      for (const f of files) await fileEntry(pack, fileEntryName(f.key), f.path, f.size)
      pack.finalize()
    } catch (e) {
      // the reader sees the failure (an aborted download, a failed CLI write), never a short archive
      gzip.destroy(e as Error)
      pack.destroy()
    } finally {
      release()
    }
  }
  void fill()
  pack.pipe(gzip)
  return Readable.toWeb(gzip) as unknown as ReadableStream<Uint8Array>
}

function entry(pack: tar.Pack, name: string, body: Buffer) {
  return new Promise<void>((resolve, reject) =>
    pack.entry({ name, size: body.length, mode: 0o600 }, body, (e) => (e ? reject(e) : resolve())),
  )
}

async function fileEntry(pack: tar.Pack, name: string, path: string, size: number) {
  const done = new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ name, size, mode: 0o600 }, (e) => (e ? reject(e) : resolve()))
    pipeline(createReadStream(path), sink).catch(reject)
  })
  await done
}

/** What a backup file holds, read from its first entry: format 2 (this module) or a bare PGlite dump. */
export async function backupFormat(file: string): Promise<'taskbase' | 'pglite' | 'unknown'> {
  const extract = tar.extract()
  const first = new Promise<string | null>((resolve) => {
    extract.on('entry', (header, stream) => {
      resolve(header.name)
      stream.resume()
      extract.destroy()
    })
    extract.on('error', () => resolve(null))
    extract.on('finish', () => resolve(null))
    extract.on('close', () => resolve(null))
  })
  const input = createReadStream(file).pipe(createGunzip())
  input.on('error', () => extract.destroy())
  input.pipe(extract)
  const name = await first
  input.destroy()
  if (name === MANIFEST) return 'taskbase'
  return name ? 'pglite' : 'unknown'
}

/**
 * Unpacks a format-2 backup: the database snapshot to `dbFile`, attachment files into
 * `attachmentsDir` (each written to a temp name, then renamed). Entries with any other name are
 * skipped, so an archive cannot write outside those two places.
 */
export async function unpackBackup(file: string, dbFile: string, attachmentsDir: string) {
  const target = new LocalStorage(attachmentsDir)
  const extract = tar.extract()
  let manifest: Manifest | null = null
  let files = 0
  extract.on('entry', (header, stream, next) => {
    const run = async () => {
      const key = FILE_ENTRY.exec(header.name)?.[1]
      if (header.name === MANIFEST) {
        const chunks: Buffer[] = []
        for await (const c of stream) chunks.push(c as Buffer)
        manifest = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Manifest
      } else if (header.name === DB_ENTRY) {
        await pipeline(stream, createWriteStream(dbFile, { mode: 0o600 }))
      } else if (key && isUuid(key) && header.name === fileEntryName(key) && header.type === 'file') {
        const path = target.pathOf(key)
        await mkdir(dirname(path), { recursive: true, mode: 0o700 })
        await pipeline(stream, createWriteStream(`${path}.restoring`, { mode: 0o600 }))
        await rename(`${path}.restoring`, path)
        files++
      } else stream.resume()
    }
    run().then(
      () => next(),
      (e) => next(e),
    )
  })
  await pipeline(createReadStream(file), createGunzip(), extract)
  if (!manifest) throw new Error('the archive has no taskbase-backup.json')
  return { manifest: manifest as Manifest, files }
}
