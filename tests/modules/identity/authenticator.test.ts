import { describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import type { Db } from '../../../src/db/client'
import { apiTokens, sessions } from '../../../src/db/schema'
import { memoryLogger } from '../../../src/lib/logger'
import { createAuthenticator } from '../../../src/modules/identity/principal'
import { createApiToken } from '../../../src/modules/identity/tokens-service'
import { createTestApp, createUser } from '../../helpers/app'
import { countQueries } from '../../helpers/db'

const waitFor = async (check: () => Promise<boolean>) => {
  for (let i = 0; i < 100; i++) {
    if (await check()) return true
    await Bun.sleep(5)
  }
  return false
}

describe('authenticator', () => {
  test('checks a session JWT or an API token with one query and refreshes stale last_used_at off the request path', async () => {
    const ctx = await createTestApp()
    const log = memoryLogger()
    const authenticate = createAuthenticator(ctx.db, ctx.jwt, log.logger)
    const u = await createUser(ctx)
    const { result, count } = await countQueries(() => authenticate(u.token))
    expect(count).toBe(1)
    expect(result).toMatchObject({ via: 'session', sessionId: u.sessionId, scope: 'write' })
    const old = new Date(Date.now() - 3_600_000)
    await ctx.db.update(sessions).set({ lastUsedAt: old }).where(eq(sessions.id, u.sessionId))
    expect(await authenticate(u.token)).not.toBeNull()
    expect(
      await waitFor(async () => {
        const [s] = await ctx.db.select().from(sessions).where(eq(sessions.id, u.sessionId))
        return s!.lastUsedAt.getTime() > old.getTime()
      }),
    ).toBe(true)

    const token = await createApiToken(ctx.db, u.id, { name: 't', scope: 'read', expiresAt: null })
    expect(await authenticate(token.token)).toMatchObject({
      via: 'api_token',
      tokenId: token.id,
      scope: 'read',
    })
    expect(
      await waitFor(async () => {
        const [row] = await ctx.db.select().from(apiTokens).where(eq(apiTokens.id, token.id))
        return row!.lastUsedAt !== null
      }),
    ).toBe(true)
    // last_used_at is fresh now: a check is exactly one query
    const viaToken = await countQueries(() => authenticate(token.token))
    expect(viaToken.count).toBe(1)
    expect(viaToken.result).toMatchObject({ via: 'api_token', sessionId: null })
    expect(await authenticate('tb_nope')).toBeNull()
    expect(await authenticate('garbage')).toBeNull()
  })

  test('a failing last_used_at update is logged as a warning and does not fail the request', async () => {
    const ctx = await createTestApp()
    const log = memoryLogger()
    const failingUpdates = new Proxy(ctx.db, {
      get(target, prop, receiver) {
        if (prop === 'update')
          return () => ({ set: () => ({ where: () => Promise.reject(new Error('read only')) }) })
        return Reflect.get(target, prop, receiver)
      },
    }) as Db
    const authenticate = createAuthenticator(failingUpdates, ctx.jwt, log.logger)
    const u = await createUser(ctx)
    await ctx.db
      .update(sessions)
      .set({ lastUsedAt: new Date(Date.now() - 3_600_000) })
      .where(eq(sessions.id, u.sessionId))
    expect(await authenticate(u.token)).not.toBeNull()
    expect(
      await waitFor(async () => log.lines.some((l) => l.includes('could not update session last_used_at'))),
    ).toBe(true)
    expect(log.entries()[0]).toMatchObject({ level: 'warn', err: 'Error: read only' })
  })
})
