import type { Settings } from '../../config'
import { type FieldError, fieldError } from '../../lib/errors'
import { Semaphore } from '../../lib/semaphore'

export const PASSWORD_MIN = 8
export const PASSWORD_MAX = 128

/**
 * The password policy of API.md: one entry per broken rule, all on `field`, so a client can show
 * every missing requirement at once.
 */
export function passwordProblems(
  password: string,
  identity: { username?: string; email?: string },
  field = 'password',
): FieldError[] {
  const errors: FieldError[] = []
  const length = [...password].length
  if (length < PASSWORD_MIN) errors.push(fieldError(field, `must be at least ${PASSWORD_MIN} characters`))
  if (length > PASSWORD_MAX) errors.push(fieldError(field, `must be at most ${PASSWORD_MAX} characters`))
  if (!/\p{Lu}/u.test(password)) errors.push(fieldError(field, 'must contain an uppercase letter'))
  if (!/\p{Nd}/u.test(password)) errors.push(fieldError(field, 'must contain a digit'))
  if (!/[^\p{L}\p{N}\s]/u.test(password)) errors.push(fieldError(field, 'must contain a special character'))
  const lower = password.toLowerCase()
  if (identity.username && lower === identity.username.toLowerCase())
    errors.push(fieldError(field, 'must not be the username'))
  if (identity.email && lower === identity.email.toLowerCase())
    errors.push(fieldError(field, 'must not be the email address'))
  return errors
}

export { Semaphore } from '../../lib/semaphore'

export type PasswordSettings = Pick<
  Settings,
  'PASSWORD_HASH_MEMORY_KIB' | 'PASSWORD_HASH_TIME_COST' | 'PASSWORD_HASH_CONCURRENCY'
>

/**
 * Argon2id through Bun.password, at most PASSWORD_HASH_CONCURRENCY at once (each costs
 * PASSWORD_HASH_MEMORY_KIB of memory and a core for ~150 ms at production cost). Callers must never
 * hold a transaction or a pooled connection while awaiting these.
 */
export function createPasswordHasher(settings: PasswordSettings) {
  const gate = new Semaphore(settings.PASSWORD_HASH_CONCURRENCY)
  const options = {
    algorithm: 'argon2id' as const,
    memoryCost: settings.PASSWORD_HASH_MEMORY_KIB,
    timeCost: settings.PASSWORD_HASH_TIME_COST,
  }
  let dummy: Promise<string> | undefined

  const hash = (password: string) => gate.run(() => Bun.password.hash(password, options))

  return {
    gate,
    hash,
    /**
     * Checks a password against a stored hash. With no hash (unknown user) it verifies against a
     * dummy hash of the same cost, so both cases take the same time and reveal nothing.
     */
    async verify(password: string, storedHash: string | null | undefined): Promise<boolean> {
      if (!storedHash) {
        dummy ??= hash(`dummy-${crypto.randomUUID()}`)
        const target = await dummy
        await gate.run(() => Bun.password.verify(password, target))
        return false
      }
      return gate.run(() => Bun.password.verify(password, storedHash))
    },
  }
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>
