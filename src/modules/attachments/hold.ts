/**
 * Deletions of a local attachments directory wait while a backup copies it (the embedded backup
 * runs in the process that also runs the delete jobs): a row in the database snapshot never
 * loses its file before the file is in the archive. Keyed by directory, as several storage
 * objects may point at one.
 */
const held = new Map<string, { count: number; released: Promise<void>; release: () => void }>()

/** Resolves once no backup holds `root`. */
export async function deletesAllowed(root: string): Promise<void> {
  while (held.has(root)) await held.get(root)!.released
}

/** Holds deletions in `root` until the returned function is called (idempotent). */
export function holdDeletes(root: string): () => void {
  let h = held.get(root)
  if (!h) {
    let release!: () => void
    const released = new Promise<void>((r) => {
      release = r
    })
    h = { count: 0, released, release }
    held.set(root, h)
  }
  h.count++
  let done = false
  return () => {
    if (done) return
    done = true
    if (--h.count === 0) {
      held.delete(root)
      h.release()
    }
  }
}
