/** PostgreSQL error details, whichever driver raised them (postgres.js, PGlite) and however Drizzle wrapped them. */
interface PgErrorLike {
  code?: unknown
  constraint?: unknown
  constraint_name?: unknown
  cause?: unknown
}

function pgError(e: unknown): PgErrorLike | null {
  let cur: unknown = e
  for (let depth = 0; depth < 5 && cur && typeof cur === 'object'; depth++) {
    const err = cur as PgErrorLike
    if (typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code)) return err
    cur = err.cause
  }
  return null
}

/** The SQLSTATE of a database error (e.g. '23505'), or null when `e` is not one. */
export function pgErrorCode(e: unknown): string | null {
  return (pgError(e)?.code as string | undefined) ?? null
}

/** The constraint (or unique index) a database error names, when it names one. */
export function pgConstraint(e: unknown): string | null {
  const err = pgError(e)
  const name = err?.constraint_name ?? err?.constraint
  return typeof name === 'string' ? name : null
}

/** True for a unique violation (23505), optionally only on the given constraint or index. */
export function isUniqueViolation(e: unknown, constraint?: string): boolean {
  if (pgErrorCode(e) !== '23505') return false
  return constraint === undefined || pgConstraint(e) === constraint
}

/** The constraint a unique violation names ('unique' when it names none), or null for any other error. */
export function uniqueViolation(e: unknown): string | null {
  return pgErrorCode(e) === '23505' ? (pgConstraint(e) ?? 'unique') : null
}
