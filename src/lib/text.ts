/** HTML comments (an unterminated one runs to the end) and `<!DOCTYPE ...>` / `<?xml ...?>` declarations. */
const COMMENT = /<!--[\s\S]*?(?:-->|$)|<[!?][^<>]*>/g
/** A real start or end tag: `<` then a letter (or `/` and a letter). A lone `<` as in `a < b` is text. */
const TAG = /<\/?[a-zA-Z][^<>]*>/g

/**
 * For single-line free text (name, title, full_name, labels): drop HTML tags and comments,
 * collapse control chars, trim. Stripping repeats until nothing changes, so tags split by
 * other tags (`<scr<b>ipt>`) do not survive as the outer tag.
 */
export function cleanLine(value: string): string {
  let text = value
  for (let prev = ''; prev !== text; ) {
    prev = text
    text = text.replace(COMMENT, '').replace(TAG, '')
  }
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .trim()
  )
}

/**
 * Route `transform` (runs before validation): trims and strips HTML tags from the single-line
 * fields, and from each string of the array fields, so `<b></b>` becomes "" and fails minLength.
 */
export const cleanFields =
  (fields: readonly string[], arrays: readonly string[] = []) =>
  ({ body }: { body: unknown }) => {
    if (!body || typeof body !== 'object' || Array.isArray(body)) return
    const b = body as Record<string, unknown>
    for (const f of fields) if (typeof b[f] === 'string') b[f] = cleanLine(b[f] as string)
    for (const f of arrays) {
      const v = b[f]
      if (Array.isArray(v)) b[f] = v.map((x) => (typeof x === 'string' ? cleanLine(x) : x))
    }
  }
