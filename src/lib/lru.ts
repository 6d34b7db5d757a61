/**
 * A Map with a fixed maximum size that forgets the least recently used entry first. For every
 * cache whose keys a client can influence: memory stays bounded whatever the client sends.
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>()

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('LruCache max must be a positive integer')
  }

  get size(): number {
    return this.map.size
  }

  /** The value, marked as most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const value = this.map.get(key)
    if (value === undefined) return undefined
    // Map keeps insertion order: re-inserting moves the key to the young end
    this.map.delete(key)
    this.map.set(key, value)
    return value
  }

  set(key: K, value: V): this {
    this.map.delete(key)
    this.map.set(key, value)
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K)
    return this
  }

  has(key: K): boolean {
    return this.map.has(key)
  }
}
