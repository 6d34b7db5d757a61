import { FormatRegistry } from '@sinclair/typebox'
import { fullFormats } from 'elysia/type-system/format'

/** The string formats @elysiajs/openapi 1.4.16 re-registers globally with Zod-backed checks. */
const OVERRIDDEN = [
  'date',
  'date-time',
  'duration',
  'email',
  'ipv4',
  'ipv6',
  'time',
  'uri',
  'url',
  'uuid',
] as const

/**
 * @elysiajs/openapi replaces TypeBox's global format checkers (uuid, email, date, ...) with
 * functions that build a Zod schema on every call: measured at ~1 ms per list response of 20
 * tasks. Put Elysia's own regex checkers back; call once after the plugin module has loaded.
 */
export function restoreFastFormats(): void {
  for (const name of OVERRIDDEN) {
    const check = (fullFormats as Record<string, unknown>)[name]
    if (check instanceof RegExp) FormatRegistry.Set(name, (v) => check.test(v))
    else if (typeof check === 'function') FormatRegistry.Set(name, check as (v: string) => boolean)
  }
  // Every response carries several timestamps: one anchored regex instead of regex + Date parsing.
  // Inputs whose calendar date matters (due_date, expires_at) are checked by their own code.
  FormatRegistry.Set('date-time', (v) => RFC3339.test(v))
}

const RFC3339 =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/i
