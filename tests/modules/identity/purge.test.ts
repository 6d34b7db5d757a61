import { describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { oneTimeTokens, sessions } from '../../../src/db/schema'
import type { JobContext } from '../../../src/jobs/runner'
import { purgeExpired } from '../../../src/modules/identity/sessions-service'
import { createTestApp, createUser, type TestContext } from '../../helpers/app'

const _jobContext = (ctx: TestContext) =>
  ({ db: ctx.db, logger: ctx.deps.logger, signal: new AbortController().signal }) as unknown as JobContext

describe('purge of expired sessions and one-time tokens', () => {
  test('deletes sessions expired or ended over a day ago and expired one-time tokens; keeps live ones', async () => {
    const ctx = await createTestApp()
    const u = await createUser(ctx)
    const day = 86_400_000
    const [old, oldRevoked, recentRevoked] = await ctx.db
      .insert(sessions)
      .values([
        { userId: u.id, expiresAt: new Date(Date.now() - 2 * day) },
        { userId: u.id, expiresAt: new Date(Date.now() + day), revokedAt: new Date(Date.now() - 2 * day) },
        { userId: u.id, expiresAt: new Date(Date.now() + day), revokedAt: new Date() },
      ])
      .returning()
    const [expiredToken, liveToken] = await ctx.db
      .insert(oneTimeTokens)
      .values([
        {
          userId: u.id,
          purpose: 'password_reset',
          email: u.email,
          tokenHash: `h-${Bun.randomUUIDv7()}`,
          expiresAt: new Date(Date.now() - 1000),
        },
        {
          userId: u.id,
          purpose: 'password_reset',
          email: u.email,
          tokenHash: `h-${Bun.randomUUIDv7()}`,
          expiresAt: new Date(Date.now() + day),
        },
      ])
      .returning()
    const result = await purgeExpired(ctx.db)
    expect(result.sessions).toBeGreaterThanOrEqual(2)
    expect(result.oneTimeTokens).toBeGreaterThanOrEqual(1)
    const left = await ctx.db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, u.id))
    const ids = left.map((s) => s.id)
    expect(ids).toContain(u.sessionId)
    expect(ids).toContain(recentRevoked!.id)
    expect(ids).not.toContain(old!.id)
    expect(ids).not.toContain(oldRevoked!.id)
    const tokens = await ctx.db
      .select({ id: oneTimeTokens.id })
      .from(oneTimeTokens)
      .where(eq(oneTimeTokens.userId, u.id))
    expect(tokens.map((t) => t.id)).toEqual([liveToken!.id])
    expect(expiredToken).toBeDefined()
  })
})
