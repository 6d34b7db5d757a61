/**
 * An in-memory cache whose entries belong to groups, for data the database announces changes of
 * by group (a user's principals, a project's memberships): `invalidate(group)` drops the group's
 * entries, and a fill that read the database before an invalidation and arrives after it is not
 * stored (`mark` before the read, pass it to `set`). An entry's group is read off its value
 * (`groupOf`); `expired` entries are dropped when looked up. Bounded: past `max` entries the least
 * recently used goes. Stores nothing until `activate()` (when the change notifications are heard).
 */
export class GroupedCache<V> {
  /** In least-recently-used-first order (a hit moves its key to the end). */
  private readonly entries = new Map<string, { group: string; value: V }>()
  private readonly groups = new Map<string, Set<string>>()
  private generation = 0
  private active = false

  constructor(
    readonly max: number,
    private readonly groupOf: (value: V) => string,
    private readonly expired: (value: V) => boolean = () => false,
  ) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('GroupedCache max must be a positive integer')
  }

  get size() {
    return this.entries.size
  }

  activate() {
    this.active = true
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (this.expired(entry.value)) {
      this.delete(key)
      return undefined
    }
    this.entries.delete(key)
    this.entries.set(key, entry)
    return entry.value
  }

  delete(key: string) {
    const entry = this.entries.get(key)
    if (!entry) return
    this.entries.delete(key)
    const keys = this.groups.get(entry.group)
    keys?.delete(key)
    if (keys?.size === 0) this.groups.delete(entry.group)
  }

  /** Taken before the database is read; `set` stores nothing if an invalidation came in between. */
  mark(): number {
    return this.generation
  }

  set(key: string, value: V, mark: number) {
    if (!this.active || mark !== this.generation) return
    this.delete(key)
    const group = this.groupOf(value)
    this.entries.set(key, { group, value })
    const keys = this.groups.get(group)
    if (keys) keys.add(key)
    else this.groups.set(group, new Set([key]))
    if (this.entries.size > this.max) this.delete(this.entries.keys().next().value as string)
  }

  /** The group changed in the database: every entry of it goes. */
  invalidate(group: string) {
    this.generation++
    const keys = this.groups.get(group)
    if (!keys) return
    for (const key of keys) this.entries.delete(key)
    this.groups.delete(group)
  }
}
