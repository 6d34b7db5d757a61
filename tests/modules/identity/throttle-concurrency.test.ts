import { describe, expect, test } from 'bun:test'
import { InFlightLimiter, MemoryRateLimitStore, RateLimiter } from '../../../src/lib/rate-limit'
import { LOGIN_LIMITS, throttledCheck } from '../../../src/modules/identity/sessions-service'
import { expectProblem } from '../../helpers/app'
import { account, freshIp, identityApp, login } from './helpers'

const WRONG = 'Wrong-pass1!'

describe('login throttle under concurrency (reserve before the hash)', () => {
  test('30 concurrent wrong logins for one user get at most 5 password checks, then 429', async () => {
    const ctx = await identityApp()
    const a = await account(ctx)
    const ip = freshIp()
    const results = await Promise.all(Array.from({ length: 30 }, () => login(ctx, a.username, WRONG, ip)))
    const checked = results.filter((r) => r.status === 401).length
    expect(checked).toBeGreaterThanOrEqual(1)
    expect(checked).toBeLessThanOrEqual(LOGIN_LIMITS.perUser.limit)
    for (const r of results.filter((r) => r.status !== 401)) {
      expectProblem(r, 429, 'rate_limited')
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    }
    // the budget is spent or in use: even the right password is refused now
    for (let i = 0; i < 6 - checked; i++) await login(ctx, a.username, WRONG, ip)
    expectProblem(await login(ctx, a.username, a.password, ip), 429)
  })

  test('username, email and their spellings share one bucket per account', async () => {
    const ctx = await identityApp()
    const a = await account(ctx)
    const ip = freshIp()
    const spellings = [
      a.username,
      a.email,
      a.username.toUpperCase(),
      ` ${a.email.toUpperCase()} `,
      a.username,
    ]
    for (const s of spellings) expectProblem(await login(ctx, s, WRONG, ip), 401)
    expectProblem(await login(ctx, a.email, a.password, ip), 429)
    expectProblem(await login(ctx, a.username, a.password, ip), 429)
  })

  test('a correct password gives the IP its attempt back', async () => {
    const ctx = await identityApp()
    const a = await account(ctx)
    const ip = freshIp()
    for (let i = 0; i < LOGIN_LIMITS.perIp.limit + 5; i++)
      expect((await login(ctx, a.username, a.password, ip)).status).toBe(200)
  })
})

describe('throttledCheck admission', () => {
  const gate = () => {
    let open!: (ok: boolean) => void
    const p = new Promise<boolean>((r) => {
      open = r
    })
    return { p, open }
  }

  test('more than the allowed in-flight checks per account or IP are refused at once, without counting', async () => {
    const ctx = { limiter: new RateLimiter(new MemoryRateLimitStore()), inFlight: new InFlightLimiter() }
    const g = gate()
    let checks = 0
    const check = () => {
      checks++
      return g.p
    }
    const running = [
      throttledCheck(ctx, 't', '1.1.1.1', 'acct', check),
      throttledCheck(ctx, 't', '2.2.2.2', 'acct', check),
    ]
    await expect(throttledCheck(ctx, 't', '3.3.3.3', 'acct', check)).rejects.toMatchObject({ status: 429 })
    const others = Array.from({ length: LOGIN_LIMITS.inFlightPerIp }, (_, i) =>
      throttledCheck(ctx, 't', '9.9.9.9', `other${i}`, check),
    )
    await expect(throttledCheck(ctx, 't', '9.9.9.9', 'one-more', check)).rejects.toMatchObject({
      status: 429,
    })
    await Bun.sleep(0)
    expect(ctx.inFlight.size).toBe(2 + 1 + LOGIN_LIMITS.inFlightPerIp + 1)
    g.open(false)
    expect(await Promise.all([...running, ...others])).toEqual(
      Array(2 + LOGIN_LIMITS.inFlightPerIp).fill(false),
    )
    expect(checks).toBe(2 + LOGIN_LIMITS.inFlightPerIp)
    expect(ctx.inFlight.size).toBe(0) // slots are given back, the map does not grow
    // the refused ones were not counted: 2 failures on acct from different IPs, 0 on 3.3.3.3
    expect(await ctx.limiter.store.get('t:3.3.3.3')).toBeNull()
  })

  test('a throwing check still frees its slot', async () => {
    const ctx = { limiter: new RateLimiter(), inFlight: new InFlightLimiter() }
    await expect(
      throttledCheck(ctx, 't', '1.1.1.1', 'a', async () => {
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(ctx.inFlight.size).toBe(0)
  })
})

describe('POST /users/me/password is throttled like login', () => {
  test('5 wrong current passwords, then 429 even for the right one', async () => {
    const ctx = await identityApp()
    const a = await account(ctx)
    const change = (current: string) =>
      ctx.req('POST', '/api/v1/users/me/password', {
        token: a.access,
        body: { current_password: current, new_password: 'N3w-Secret-pass!' },
      })
    for (let i = 0; i < LOGIN_LIMITS.perUser.limit; i++) expectProblem(await change(WRONG), 422)
    expectProblem(await change(a.password), 429, 'rate_limited')
  })

  test('concurrent wrong attempts cannot exceed the budget', async () => {
    const ctx = await identityApp()
    const a = await account(ctx)
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        ctx.req('POST', '/api/v1/users/me/password', {
          token: a.access,
          body: { current_password: WRONG, new_password: 'N3w-Secret-pass!' },
        }),
      ),
    )
    const checked = results.filter((r) => r.status === 422).length
    expect(checked).toBeLessThanOrEqual(LOGIN_LIMITS.perUser.limit)
    expect(results.filter((r) => r.status === 429).length).toBe(12 - checked)
  })
})
