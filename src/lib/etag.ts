import { preconditionFailed } from './errors'

/** The ETag of a versioned resource: `"<version>"`. */
export const etagOf = (version: number) => `"${version}"`

/**
 * Parses If-Match into what the stored version must be: null when absent or `*` (any version
 * passes), otherwise the list of acceptable versions. Accepts `"3"`, `3` and `W/"3"`; a value
 * that names no version can never match, so it fails with 412 like any stale one.
 */
export function parseIfMatch(header: string | null | undefined): number[] | null {
  if (header === null || header === undefined || header.trim() === '') return null
  const versions: number[] = []
  for (const part of header.split(',')) {
    const raw = part.trim()
    if (raw === '*') return null
    const m = raw.match(/^(?:W\/)?"?(\d{1,9})"?$/)
    if (m) versions.push(Number(m[1]))
  }
  return versions
}

/** Throws 412 unless `current` satisfies the If-Match header. */
export function checkIfMatch(header: string | null | undefined, current: number): void {
  const wanted = parseIfMatch(header)
  if (wanted && !wanted.includes(current)) throw preconditionFailed()
}
