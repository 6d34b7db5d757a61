import { describe, expect, test } from 'bun:test'
import type { JobContext } from '../../../src/jobs/runner'
import { createPasswordHasher, Semaphore } from '../../../src/modules/identity/password'
import type { TestContext } from '../../helpers/app'

const _jobContext = (ctx: TestContext) =>
  ({ db: ctx.db, logger: ctx.deps.logger, signal: new AbortController().signal }) as unknown as JobContext

describe('password hashing', () => {
  test('the semaphore never runs more than its size at once', async () => {
    const gate = new Semaphore(2)
    let running = 0
    let peak = 0
    await Promise.all(
      Array.from({ length: 6 }, () =>
        gate.run(async () => {
          running++
          peak = Math.max(peak, running)
          expect(gate.running).toBeLessThanOrEqual(2)
          await Bun.sleep(2)
          running--
        }),
      ),
    )
    expect(peak).toBe(2)
    expect(gate.running).toBe(0)
    expect(gate.queued).toBe(0)
  })

  test('hashes with argon2id at the configured cost, with bounded concurrency; unknown users verify against a dummy', async () => {
    const hasher = createPasswordHasher({
      PASSWORD_HASH_MEMORY_KIB: 8192,
      PASSWORD_HASH_TIME_COST: 1,
      PASSWORD_HASH_CONCURRENCY: 1,
    })
    const hashes = await Promise.all([hasher.hash('Abc-12345'), hasher.hash('Abc-12345')])
    expect(hashes[0]).toStartWith('$argon2id$v=19$m=8192,t=1,')
    expect(hashes[0]).not.toBe(hashes[1])
    expect(await hasher.verify('Abc-12345', hashes[0])).toBe(true)
    expect(await hasher.verify('wrong', hashes[0])).toBe(false)
    expect(await hasher.verify('Abc-12345', null)).toBe(false)
    expect(await hasher.verify('Abc-12345', undefined)).toBe(false)
  })
})
