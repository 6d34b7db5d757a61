/** Characters that make a spreadsheet treat a cell as a formula (CSV injection, OWASP). */
const FORMULA_START = /^[=+\-@\t\r]/

/** One RFC 4180 cell: formula-like text gets a leading `'`; quotes, commas and line breaks are quoted. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return ''
  let s = value instanceof Date ? value.toISOString() : Array.isArray(value) ? value.join(';') : String(value)
  if (typeof value === 'string' || Array.isArray(value)) {
    if (FORMULA_START.test(s)) s = `'${s}`
  }
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

/** One CSV record terminated by CRLF (RFC 4180). */
export const csvRow = (cells: readonly unknown[]) => `${cells.map(csvCell).join(',')}\r\n`
