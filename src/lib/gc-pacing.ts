/**
 * Full garbage collections the collector would otherwise run late. With the embedded database
 * the JavaScript heap holds PGlite (its bundle, the compiled wasm, start-up buffers): the
 * collector sizes its next run by that heap, so garbage that lives outside it — the buffers of
 * request bodies — piles up for a long time. Measured (bench/uploads.ts, rss): 20 concurrent
 * 10 MiB uploads per round, RSS 733 → 964 MiB over 12 rounds without these, flat with them.
 */
/** A full, synchronous collection. */
export const fullCollection = () => Bun.gc(true)

export class GcPacer {
  private bytes = 0

  constructor(
    private readonly everyBytes: number,
    private readonly collect: () => void = fullCollection,
  ) {}

  /** Counts `n` bytes that passed through buffers; collects once `everyBytes` have since the last. */
  add(n: number): boolean {
    this.bytes += n
    if (this.bytes < this.everyBytes) return false
    this.bytes = 0
    this.collect()
    return true
  }
}

/** One collection `delayMs` after start (outside the start-up time): PGlite's start-up garbage. */
export function collectAfterStart(delayMs = 1_000, collect: () => void = fullCollection) {
  const timer = setTimeout(collect, delayMs)
  timer.unref?.()
  return timer
}
