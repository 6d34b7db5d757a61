/** Prints the README's error-code table from the closed set in src/lib/errors.ts. */
import { ERROR_CODES } from '../src/lib/errors'

export function errorTable(): string {
  const rows = ['| status | code | when |', '|---|---|---|']
  for (const [code, { status, when }] of Object.entries(ERROR_CODES))
    rows.push(`| ${status} | \`${code}\` | ${when} |`)
  return rows.join('\n')
}

if (import.meta.main) console.log(errorTable())
