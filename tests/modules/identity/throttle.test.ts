import { describe, expect, test } from 'bun:test'
import { and, eq, sql } from 'drizzle-orm'
import { loadSettings } from '../../../src/config'
import { jobs } from '../../../src/db/schema'
import { clientIp, parseTrustProxy, type TrustProxy } from '../../../src/lib/client-ip'
import { MemoryRateLimitStore, RateLimiter } from '../../../src/lib/rate-limit'
import { MAIL_JOB } from '../../../src/modules/identity/mail-jobs'
import { expectProblem } from '../../helpers/app'
import { account, freshIp, identityApp, login, register, unique } from './helpers'

describe('login throttling', () => {
  test('5 failures per minute per (IP, username) → 429 with Retry-After, even with the right password', async () => {
    const ctx = await identityApp()
    const a = await account(ctx)
    const ip = freshIp()
    for (let i = 0; i < 5; i++) expectProblem(await login(ctx, a.username, 'Wrong-pass1!', ip), 401)
    const limited = expectProblem(await login(ctx, a.username, a.password, ip), 429, 'rate_limited')
    expect(limited.detail).toContain('Too many')
    const retry = Number((await login(ctx, a.username, a.password, ip)).headers.get('retry-after'))
    expect(retry).toBeGreaterThanOrEqual(1)
    expect(retry).toBeLessThanOrEqual(60)
    // another address, or the same address for another user, is not affected
    expect((await login(ctx, a.username, a.password, freshIp())).status).toBe(200)
    const b = await account(ctx)
    expect((await login(ctx, b.username, b.password, ip)).status).toBe(200)
  })

  test('20 failures per minute per IP across usernames → 429', async () => {
    const ctx = await identityApp()
    const ip = freshIp()
    for (let i = 0; i < 20; i++) expectProblem(await login(ctx, unique('ghost'), 'Wrong-pass1!', ip), 401)
    const res = await login(ctx, unique('ghost'), 'Wrong-pass1!', ip)
    expectProblem(res, 429)
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
  })

  test('a success resets the per-user failure count', async () => {
    const ctx = await identityApp()
    const a = await account(ctx)
    const ip = freshIp()
    for (let i = 0; i < 4; i++) await login(ctx, a.username, 'Wrong-pass1!', ip)
    expect((await login(ctx, a.username, a.password, ip)).status).toBe(200)
    for (let i = 0; i < 4; i++) expectProblem(await login(ctx, a.username, 'Wrong-pass1!', ip), 401)
    expect((await login(ctx, a.username, a.password, ip)).status).toBe(200)
  })

  test('without TRUST_PROXY, X-Forwarded-For is ignored (every spoofed address shares one bucket)', async () => {
    const ctx = await identityApp({ TRUST_PROXY: 'false' })
    for (let i = 0; i < 20; i++) await login(ctx, unique('ghost'), 'Wrong-pass1!', freshIp())
    expectProblem(await login(ctx, unique('ghost'), 'Wrong-pass1!', freshIp()), 429)
  })
})

describe('registration and reset throttling', () => {
  test('10 registrations per hour per IP', async () => {
    const ctx = await identityApp()
    const ip = freshIp()
    const reg = () =>
      ctx.req('POST', '/api/v1/auth/register', {
        body: { email: `${unique('r')}@example.com`, username: unique('r'), password: 'Sup3r-Secret!' },
        headers: { 'x-forwarded-for': `203.0.113.9, ${ip}` },
      })
    for (let i = 0; i < 10; i++) expect((await reg()).status).toBe(201)
    const res = await reg()
    expectProblem(res, 429, 'rate_limited')
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(3000)
    expect((await register(ctx)).status).toBe(201)
  })

  test('password reset: 3 mails per address and hour, then 202 without a mail', async () => {
    const ctx = await identityApp()
    const a = await account(ctx)
    for (let i = 0; i < 5; i++) {
      const res = await ctx.req('POST', '/api/v1/auth/password-reset/request', { body: { email: a.email } })
      expect(res.status).toBe(202)
    }
    // three mail jobs were queued (the others were answered alike and queued nothing) ...
    const queued = await ctx.db
      .select({ status: jobs.status })
      .from(jobs)
      .where(and(eq(jobs.type, MAIL_JOB), sql`${jobs.payload}->>'email' = ${a.email}`))
    expect(queued).toHaveLength(3)
    // ... and each sends its mail
    for (
      let i = 0;
      i < 100 && ctx.mail.sent.filter((m) => m.to === a.email && m.subject.includes('Reset')).length < 3;
      i++
    )
      await Bun.sleep(20)
    expect(ctx.mail.sent.filter((m) => m.to === a.email && m.subject.includes('Reset'))).toHaveLength(3)
  })

  test('password reset requests: at most 20 per client IP and hour, whatever the addresses', async () => {
    const ctx = await identityApp()
    const ip = freshIp()
    const ask = () =>
      ctx.req('POST', '/api/v1/auth/password-reset/request', {
        body: { email: `${unique('r')}@example.com` },
        headers: { 'x-forwarded-for': ip },
      })
    for (let i = 0; i < 20; i++) expect((await ask()).status).toBe(202)
    expectProblem(await ask(), 429, 'rate_limited')
  })
})

describe('MemoryRateLimitStore', () => {
  test('counts per fixed window and starts over when it ends', async () => {
    let now = 1_000
    const store = new MemoryRateLimitStore(100, () => now)
    expect(await store.get('k')).toBeNull()
    expect((await store.increment('k', 1000)).count).toBe(1)
    expect(await store.increment('k', 1000)).toEqual({ count: 2, resetAt: 2_000 })
    now = 2_000
    expect(await store.get('k')).toBeNull()
    expect((await store.increment('k', 1000)).count).toBe(1)
    await store.reset('k')
    expect(await store.get('k')).toBeNull()
  })

  test('memory stays bounded: expired windows are swept, then the oldest dropped', async () => {
    let now = 0
    const store = new MemoryRateLimitStore(10, () => now)
    for (let i = 0; i < 10; i++) await store.increment(`old${i}`, 100)
    now = 200
    await store.increment('fresh', 1000)
    expect(store.size).toBe(1)
    for (let i = 0; i < 25; i++) await store.increment(`k${i}`, 10_000)
    expect(store.size).toBeLessThanOrEqual(10)
    expect(await store.get('k24')).not.toBeNull()
    expect(await store.get('k0')).toBeNull()
  })

  test('RateLimiter.consume refuses past the limit with a Retry-After in seconds', async () => {
    let now = 0
    const limiter = new RateLimiter(new MemoryRateLimitStore(100, () => now), () => now)
    await limiter.consume('x', { limit: 1, windowMs: 30_000 })
    now = 10_000
    const err = await limiter.consume('x', { limit: 1, windowMs: 30_000 }).catch((e) => e)
    expect(err.status).toBe(429)
    expect(err.headers['Retry-After']).toBe('20')
  })
})

describe('clientIp', () => {
  const server = { requestIP: () => ({ address: '192.0.2.7' }) }
  const req = (xff?: string) =>
    new Request('http://localhost/', { headers: xff ? { 'x-forwarded-for': xff } : {} })

  const trust = (v: string) => parseTrustProxy(v) as TrustProxy

  test('trusts the right-most X-Forwarded-For entry only with TRUST_PROXY', () => {
    expect(clientIp(req('1.1.1.1, 2.2.2.2'), server, trust('true'))).toBe('2.2.2.2')
    expect(clientIp(req('1.1.1.1, 2.2.2.2'), server, trust('false'))).toBe('192.0.2.7')
    expect(clientIp(req(' , '), server, trust('true'))).toBe('192.0.2.7')
    expect(clientIp(req(), null, trust('true'))).toBe('unknown')
    expect(clientIp(req(), { requestIP: () => null }, trust('false'))).toBe('unknown')
  })

  test('a hop count believes that many entries from the right (issue 13 #5)', () => {
    // client 1.1.1.1 forged "6.6.6.6"; CDN appended 1.1.1.1, the load balancer appended 10.0.0.5
    const xff = '6.6.6.6, 1.1.1.1, 10.0.0.5'
    expect(clientIp(req(xff), server, trust('2'))).toBe('1.1.1.1')
    expect(clientIp(req(xff), server, trust('1'))).toBe('10.0.0.5')
    expect(clientIp(req('1.1.1.1'), server, trust('3'))).toBe('1.1.1.1') // fewer entries: the left-most
  })

  test('a proxy list steps left from the socket peer while the address is one of ours', () => {
    const lb = { requestIP: () => ({ address: '10.0.0.2' }) }
    const ours = trust('10.0.0.0/8, fd00::/8, 192.0.2.1')
    expect(clientIp(req('6.6.6.6, 1.1.1.1, 10.0.0.5'), lb, ours)).toBe('1.1.1.1')
    expect(clientIp(req('1.1.1.1, fd00::7'), lb, ours)).toBe('1.1.1.1')
    // the peer is not a proxy of ours: its header is not believed at all
    expect(clientIp(req('1.1.1.1'), server, ours)).toBe('192.0.2.7')
    // every entry is ours: the left-most one
    expect(clientIp(req('10.1.1.1'), lb, ours)).toBe('10.1.1.1')
  })

  test('TRUST_PROXY values: words, counts and lists; a bad entry is a config error', () => {
    expect(parseTrustProxy('no')).toEqual({ kind: 'none' })
    expect(parseTrustProxy('ON')).toEqual({ kind: 'hops', hops: 1 })
    expect(parseTrustProxy('3')).toEqual({ kind: 'hops', hops: 3 })
    expect(parseTrustProxy('10.0.0.0/8')).toMatchObject({ kind: 'list' })
    expect(parseTrustProxy('10.0.0.0/33')).toHaveProperty('error')
    expect(parseTrustProxy('proxy.local')).toHaveProperty('error')
    expect(() => loadSettings({ env: { TRUST_PROXY: '10.0.0.0/40' }, dotenvPath: null })).toThrow(
      'TRUST_PROXY',
    )
  })
})
