import { and, eq, isNull, lt } from 'drizzle-orm'
import { Elysia } from 'elysia'
import type { Db } from '../db/client'
import { idempotencyKeys } from '../db/schema'
import { sha256Hex } from '../lib/crypto'
import { badRequest, conflict, fieldError, validationFailed } from '../lib/errors'
import type { Logger } from '../lib/logger'
import { principalOf } from './auth'
import { describeError } from './http'
import { requestMeta } from './request-context'

export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000
const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/
const REPLAYED_HEADERS = ['content-type', 'location', 'etag'] as const

interface Claim {
  userId: string
  key: string
  done: boolean
}

interface Stored {
  status: number
  body: string
  headers: Record<string, string>
}

/** JSON with sorted keys, so `{a,b}` and `{b,a}` are the same request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`
  return JSON.stringify(value) ?? 'null'
}

export interface IdempotencyDeps {
  db: Db
  logger: Logger
}

/**
 * Idempotency-Key for every authenticated POST (API.md, Conventions).
 *
 * The key is claimed (insert on the (user_id, key) primary key) before the handler runs, and the
 * response — 2xx and 4xx alike — is stored after it; a 5xx or a crash releases the claim so a
 * retry can run. Same key + same request replays the stored response with
 * `Idempotency-Replayed: true`; a different request is a 422; a repeat while the first still runs
 * is a 409. Keys live 24 h, per user.
 *
 * The guard authenticates in `transform`, before this hook, so the caller is known here without a
 * second token lookup. Routes without the guard (register, login, ...) are not keyed: there is no
 * user to key by.
 */
export function idempotencyPlugin({ db, logger }: IdempotencyDeps) {
  const claims = new WeakMap<Request, Claim>()
  async function claim(userId: string, key: string, requestHash: string): Promise<Stored | 'claimed'> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const [won] = await db
        .insert(idempotencyKeys)
        .values({ userId, key, requestHash, expiresAt: new Date(Date.now() + IDEMPOTENCY_TTL_MS) })
        .onConflictDoNothing()
        .returning({ key: idempotencyKeys.key })
      if (won) return 'claimed'
      const [row] = await db
        .select()
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)))
      if (!row) continue
      if (row.expiresAt.getTime() <= Date.now()) {
        await db
          .delete(idempotencyKeys)
          .where(
            and(
              eq(idempotencyKeys.userId, userId),
              eq(idempotencyKeys.key, key),
              lt(idempotencyKeys.expiresAt, new Date()),
            ),
          )
        continue
      }
      if (row.requestHash !== requestHash)
        throw validationFailed(
          [fieldError('Idempotency-Key', 'was already used for a different request')],
          'Idempotency-Key reused with a different request',
        )
      if (row.responseStatus === null)
        throw conflict('A request with this Idempotency-Key is still being processed')
      return {
        status: Number(row.responseStatus),
        body: row.responseBody ?? '',
        headers: JSON.parse(row.responseHeaders ?? '{}'),
      }
    }
    throw conflict('A request with this Idempotency-Key is still being processed')
  }

  async function release(c: Claim) {
    c.done = true
    await db
      .delete(idempotencyKeys)
      .where(
        and(
          eq(idempotencyKeys.userId, c.userId),
          eq(idempotencyKeys.key, c.key),
          isNull(idempotencyKeys.responseStatus),
        ),
      )
      .catch((err) => logger.warn('could not release an idempotency key', { err: describeError(err) }))
  }

  /**
   * Saves the response for replays. A failure here must not turn the request's real outcome
   * (often a created resource) into a 500, nor leave the key claimed for 24 h: log it, release
   * the key (a retry runs again), and let the real response go out.
   */
  async function store(c: Claim, s: Stored, requestId: string) {
    c.done = true
    try {
      await db
        .update(idempotencyKeys)
        .set({
          responseStatus: String(s.status),
          responseBody: s.body,
          responseHeaders: JSON.stringify(s.headers),
        })
        .where(and(eq(idempotencyKeys.userId, c.userId), eq(idempotencyKeys.key, c.key)))
    } catch (err) {
      logger.error('could not store an idempotent response', {
        request_id: requestId,
        status: s.status,
        err: describeError(err),
      })
      await release(c)
    }
  }

  const plugin = new Elysia({ name: 'idempotency' })
    .onBeforeHandle({ as: 'global' }, async ({ request, body, path }) => {
      if (request.method !== 'POST') return
      const key = request.headers.get('idempotency-key')
      if (key === null) return
      if (!KEY_PATTERN.test(key)) throw badRequest('Idempotency-Key must be 1-255 printable ASCII characters')
      const principal = principalOf(request)
      if (!principal) return
      const hash = sha256Hex(`POST ${path}\n${canonical(body)}`)
      const result = await claim(principal.user.id, key, hash)
      if (result === 'claimed') {
        claims.set(request, { userId: principal.user.id, key, done: false })
        return
      }
      return new Response(result.status === 204 ? null : result.body, {
        status: result.status,
        headers: { ...result.headers, 'idempotency-replayed': 'true' },
      })
    })
    .mapResponse({ as: 'global' }, async ({ request, responseValue, set }) => {
      const c = claims.get(request)
      if (!c || c.done) return
      let stored: Stored
      if (responseValue instanceof Response) {
        const headers: Record<string, string> = {}
        for (const h of REPLAYED_HEADERS) {
          const v = responseValue.headers.get(h) ?? set.headers[h]
          if (typeof v === 'string') headers[h] = v
        }
        stored = { status: responseValue.status, body: await responseValue.clone().text(), headers }
      } else {
        const status = typeof set.status === 'number' ? set.status : 200
        // An error response follows (onError); it is the one to store
        if (responseValue === undefined && status >= 400) return
        const headers: Record<string, string> = {}
        for (const h of REPLAYED_HEADERS) {
          const v = set.headers[h]
          if (typeof v === 'string') headers[h] = v
        }
        let text = ''
        if (typeof responseValue === 'string') text = responseValue
        else if (responseValue !== undefined && responseValue !== null) {
          text = JSON.stringify(responseValue)
          headers['content-type'] ??= 'application/json'
        }
        stored = { status, body: text, headers }
      }
      // 5xx: let a retry run. no-store: the body holds a secret shown once (a new API token),
      // which must not sit in the table for 24 h; the key is released instead of replayable.
      const noStore = /no-store/i.test(
        String(
          responseValue instanceof Response
            ? responseValue.headers.get('cache-control')
            : set.headers['cache-control'],
        ),
      )
      if (stored.status >= 500 || noStore) await release(c)
      else await store(c, stored, requestMeta(request).id)
    })
    .onAfterResponse({ as: 'global' }, async ({ request }) => {
      const c = claims.get(request)
      if (c && !c.done) await release(c)
    })

  return plugin
}
