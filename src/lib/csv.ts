/**
 * A value that starts with one of these is a formula to a spreadsheet (CSV injection, OWASP:
 * = + - @, TAB and CR). Leading `'` are looked through so that a value which already starts with
 * `'` and a trigger gets one more: the guard is then always exactly one removable character.
 */
const FORMULA_START = /^'*[=+\-@\t\r]/

/** Prefixes a formula-like value with `'` (one removable character; see FORMULA_START). */
export const guardFormula = (s: string) => (FORMULA_START.test(s) ? `'${s}` : s)

/**
 * Labels are joined with `;`, so whoever splits the cell gets each piece as a value of its own:
 * every `;`-separated piece is guarded, which covers each label and a label that contains `;`.
 */
const guardList = (items: readonly unknown[]) =>
  items.map(String).join(';').split(';').map(guardFormula).join(';')

/**
 * One RFC 4180 cell. Every value is quoted (a quoted cell is one cell for any reader, whatever
 * separators it contains) and text is guarded against formulas. null/undefined is an empty,
 * unquoted field, which readers such as PostgreSQL's COPY keep apart from an empty string.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return ''
  const s =
    value instanceof Date
      ? value.toISOString()
      : Array.isArray(value)
        ? guardList(value)
        : typeof value === 'string'
          ? guardFormula(value)
          : String(value)
  return `"${s.replaceAll('"', '""')}"`
}

/** One CSV record terminated by CRLF (RFC 4180). */
export const csvRow = (cells: readonly unknown[]) => `${cells.map(csvCell).join(',')}\r\n`
