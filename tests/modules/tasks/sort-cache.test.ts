import { describe, expect, test } from 'bun:test'
import { PREPARED_CACHE_MAX, prepared, preparedCacheSize } from '../../../src/db/prepared'
import { LruCache } from '../../../src/lib/lru'
import { createUser } from '../../helpers/app'
import { API, makeProject, makeTask, testApp } from '../../helpers/projects-fixtures'

/** Issue 7 #3: a cache a client can grow must stay bounded, whatever the client sends. */
describe('prepared task pages are keyed by the parsed sort and bounded', () => {
  test('300 spellings of sort=number (spaces around it) add one prepared query, not 300', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    await makeTask(ctx, me, p.id, { title: 'one' })
    await makeTask(ctx, me, p.id, { title: 'two' })
    const list = (sort: string) =>
      ctx.req('GET', `${API}/projects/${p.id}/tasks?sort=${encodeURIComponent(sort)}`, { token: me.token })
    expect((await list('number')).status).toBe(200)
    expect((await list('-number')).status).toBe(200)
    const before = preparedCacheSize(ctx.db)
    for (let i = 1; i <= 300; i++) {
      const spelling = `${' '.repeat(i % 97)}number${' '.repeat(Math.floor(i / 97) + 1)}`
      const res = await list(spelling)
      expect(res.status).toBe(200)
      expect(res.body.items.map((t: { title: string }) => t.title)).toEqual(['one', 'two'])
    }
    // the same order spelled differently is the same prepared query
    expect(preparedCacheSize(ctx.db)).toBe(before)
    // two keys, spelled with spaces: one more shape at most, and the order is still right
    for (let i = 0; i < 20; i++)
      expect(
        (await list(`${' '.repeat(i)}-number ,${' '.repeat(i)}title`)).body.items.map(
          (t: { title: string }) => t.title,
        ),
      ).toEqual(['two', 'one'])
    expect(preparedCacheSize(ctx.db)).toBeLessThanOrEqual(before + 1)
  })

  test('the prepared-query cache never holds more than PREPARED_CACHE_MAX entries', async () => {
    const ctx = await testApp()
    let built = 0
    for (let i = 0; i < PREPARED_CACHE_MAX * 2; i++)
      prepared(ctx.db, `bound-test:${i}`, () => {
        built++
        return { i }
      })
    expect(built).toBe(PREPARED_CACHE_MAX * 2)
    expect(preparedCacheSize(ctx.db)).toBe(PREPARED_CACHE_MAX)
    // the youngest entries are kept (no rebuild), the oldest were forgotten (rebuilt)
    prepared(ctx.db, `bound-test:${PREPARED_CACHE_MAX * 2 - 1}`, () => {
      built++
      return {}
    })
    expect(built).toBe(PREPARED_CACHE_MAX * 2)
    prepared(ctx.db, 'bound-test:0', () => {
      built++
      return {}
    })
    expect(built).toBe(PREPARED_CACHE_MAX * 2 + 1)
    expect(preparedCacheSize(ctx.db)).toBe(PREPARED_CACHE_MAX)
  })
})

describe('LruCache', () => {
  test('keeps at most max entries and evicts the least recently used', () => {
    const c = new LruCache<string, number>(2)
    c.set('a', 1).set('b', 2)
    expect(c.get('a')).toBe(1) // a is now the most recent
    c.set('c', 3)
    expect(c.has('b')).toBe(false)
    expect(c.has('a')).toBe(true)
    expect(c.get('c')).toBe(3)
    expect(c.get('zz')).toBeUndefined()
    c.set('a', 10) // overwrite does not grow
    expect(c.size).toBe(2)
    expect(c.get('a')).toBe(10)
  })

  test('refuses a size that is not a positive integer', () => {
    expect(() => new LruCache(0)).toThrow(RangeError)
    expect(() => new LruCache(1.5)).toThrow(RangeError)
  })
})
