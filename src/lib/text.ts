const LT = 60 // <

const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
const isNameChar = (c: number) => isAlpha(c) || (c >= 48 && c <= 57) || c === 45 // - in custom elements
/** A character that, right after `<`, makes a tag, an end tag, a comment or a declaration. */
const opensMarkup = (c: number) => isAlpha(c) || c === 47 || c === 33 || c === 63 // / ! ?
const isControl = (c: number) => c <= 0x1f || c === 0x7f

/**
 * For single-line free text (name, title, full_name, labels): drop HTML tags, comments and
 * declarations, turn runs of control characters into one space, trim.
 *
 * One pass over the input, linear in its length (the input is attacker-controlled). It follows
 * the HTML tokenizer: `<` + letter (or `</` + letter) opens a tag that runs to the next `>`;
 * `<!--` a comment to `-->`; `<!` / `<?` a declaration to `>`. An unterminated tag that has
 * anything after its name (`<img src=x onerror=alert(1)//`) is dropped to the end; a bare
 * unterminated word such as `R&D <internal` stays text (no browser can read attributes into it).
 * A lone `<` is text (`a < b`, `<3`), unless removing markup would glue it to a letter
 * (`<<b>script>`): the output never holds a `<` that opens markup, so cleaning is idempotent.
 */
export function cleanLine(value: string): string {
  let out = ''
  let pendingLt = 0 // lone `<` not yet written: dropped if markup-opening text follows
  let space = false // a run of control characters not yet written as one space
  const n = value.length
  const text = (from: number, to: number) => {
    if (from >= to) return
    if (space) {
      out += ' '
      space = false
    }
    if (pendingLt > 0) {
      if (!opensMarkup(value.charCodeAt(from))) out += '<'.repeat(pendingLt)
      pendingLt = 0
    }
    out += value.slice(from, to)
  }
  let i = 0
  while (i < n) {
    let j = i
    while (j < n) {
      const c = value.charCodeAt(j)
      if (c === LT || isControl(c)) break
      j++
    }
    text(i, j)
    if (j >= n) break
    i = j
    if (value.charCodeAt(i) !== LT) {
      if (pendingLt > 0) out += '<'.repeat(pendingLt)
      pendingLt = 0
      space = true
      i++
      continue
    }
    const next = i + 1 < n ? value.charCodeAt(i + 1) : -1
    if (next === 33 && value.startsWith('!--', i + 1)) {
      const end = value.indexOf('-->', i + 4)
      i = end === -1 ? n : end + 3
    } else if (next === 33 || next === 63) {
      const end = value.indexOf('>', i + 2)
      i = end === -1 ? n : end + 1
    } else if (isAlpha(next) || (next === 47 && i + 2 < n && isAlpha(value.charCodeAt(i + 2)))) {
      const end = value.indexOf('>', i + 1)
      if (end !== -1) {
        i = end + 1
      } else {
        let k = next === 47 ? i + 2 : i + 1
        while (k < n && isNameChar(value.charCodeAt(k))) k++
        if (k < n)
          i = n // attributes or junk after the name: an unterminated tag, dropped
        else {
          text(i, n) // a bare `<word` at the end is text
          i = n
        }
      }
    } else {
      pendingLt++ // a lone `<`
      i++
    }
  }
  if (pendingLt > 0) out += '<'.repeat(pendingLt)
  return out.trim()
}

/** Field name → the schema's maxLength. Longer values are left as they are for validation to refuse. */
export type CleanSpec = {
  fields?: Record<string, number>
  arrays?: Record<string, { maxLength: number; maxItems: number }>
}

/**
 * Trims and strips HTML from the single-line fields, and from each string of the array fields, so
 * `<b></b>` becomes "" and fails minLength. Runs before validation, so it is bounded by the schema:
 * a value over its maxLength (or an array over maxItems) is not touched, validation refuses it, and
 * the work per request is at most the sum of the maxima.
 */
export const cleanFields =
  ({ fields = {}, arrays = {} }: CleanSpec) =>
  ({ body }: { body: unknown }) => {
    if (!body || typeof body !== 'object' || Array.isArray(body)) return
    const b = body as Record<string, unknown>
    for (const [f, max] of Object.entries(fields)) {
      const v = b[f]
      if (typeof v === 'string' && v.length <= max) b[f] = cleanLine(v)
    }
    for (const [f, { maxLength, maxItems }] of Object.entries(arrays)) {
      const v = b[f]
      if (Array.isArray(v) && v.length <= maxItems)
        b[f] = v.map((x) => (typeof x === 'string' && x.length <= maxLength ? cleanLine(x) : x))
    }
  }
