import { basename } from 'node:path'
import { fileTypeFromBlob } from 'file-type'

/** Longest stored filename, in UTF-8 bytes (what most filesystems take as one name). */
export const MAX_FILENAME_BYTES = 255

// C0 and C1 controls, DEL; bidi embeddings, overrides and isolates; zero-width and BOM characters
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g
// Characters Windows refuses in a name, and both path separators
const RESERVED_CHARS = /[<>:"/\\|?*]/g
const RESERVED_NAMES = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i

/** Cuts `s` to at most `max` UTF-8 bytes without splitting a character. */
function cutBytes(s: string, max: number): string {
  let out = ''
  let bytes = 0
  for (const ch of s) {
    const n = Buffer.byteLength(ch)
    if (bytes + n > max) break
    out += ch
    bytes += n
  }
  return out
}

/**
 * A filename that is safe to store, show and send back in Content-Disposition: the last path
 * segment only, NFC, no control, bidi or zero-width characters, no characters Windows reserves,
 * no leading dots or spaces, no trailing dots or spaces, no device names (CON, NUL, ...), at most
 * 255 UTF-8 bytes keeping the extension. Empty after that: `fallback`.
 */
export function sanitizeFilename(raw: string, fallback = 'file'): string {
  let name = raw.normalize('NFC').replace(UNSAFE_CHARS, '')
  name = basename(name.replaceAll('\\', '/'))
  name = name.replace(RESERVED_CHARS, '_').replace(/\s+/g, ' ')
  name = name.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '')
  if (RESERVED_NAMES.test(name)) name = `_${name}`
  if (Buffer.byteLength(name) > MAX_FILENAME_BYTES) {
    const dot = name.lastIndexOf('.')
    const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : ''
    name =
      cutBytes(name.slice(0, name.length - ext.length), MAX_FILENAME_BYTES - Buffer.byteLength(ext)) + ext
  }
  return name || fallback
}

/** `attachment` with an ASCII fallback and the exact name as RFC 6266 / RFC 8187 `filename*`. */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_')
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`
}

/** What the bytes of a text file look like, gathered while they stream in. */
export interface TextInfo {
  /** Valid UTF-8 with no NUL byte. */
  text: boolean
  /** The first bytes (up to 1 KiB), for the markup check. */
  head: Uint8Array
}

const MARKUP = /^(\ufeff)?\s*</

/**
 * The type of an upload, from its bytes only: a binary format recognised by `file-type` from its
 * signature; otherwise, for UTF-8 text, JSON when it starts with `{` or `[` and parses, CSV when the name ends in
 * `.csv`, else plain text. Text that starts with `<` (HTML, SVG, XML: markup a browser would run)
 * is `text/html` and so refused unless allowed. Anything else is `application/octet-stream`.
 */
export async function decideType(path: string, info: TextInfo, filename: string): Promise<string> {
  // from a Blob: fileTypeFromFile imports strtok3 at runtime, out of reach of the compiled binary
  const found = await fileTypeFromBlob(Bun.file(path))
  if (found) return found.mime
  if (!info.text) return 'application/octet-stream'
  const start = new TextDecoder().decode(info.head)
  if (MARKUP.test(start)) return 'text/html'
  if (/^(\ufeff)?\s*[[{]/.test(start)) {
    try {
      JSON.parse(await Bun.file(path).text())
      return 'application/json'
    } catch {}
  }
  return /\.csv$/i.test(filename) ? 'text/csv' : 'text/plain'
}

/** The Content-Type header an attachment is served with (text as UTF-8, which uploads are checked to be). */
export const servedType = (type: string) =>
  type.startsWith('text/') || type === 'application/json' ? `${type}; charset=utf-8` : type
