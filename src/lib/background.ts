import type { Logger } from './logger'

/**
 * Work that runs after the response was sent (a password-reset lookup and its mail), so the
 * answer never depends on it. Errors are logged, never thrown. `idle()` resolves once everything
 * started so far has finished: shutdown and tests wait on it. The set holds running tasks only.
 */
export class BackgroundTasks {
  private readonly running = new Set<Promise<void>>()

  constructor(private readonly logger: Logger) {}

  /** Starts `fn` on a later turn of the event loop (after the current response is written). */
  run(name: string, fn: () => Promise<unknown>): void {
    const task: Promise<void> = new Promise<void>((resolve) => setTimeout(resolve, 0))
      .then(fn)
      .then(
        () => {},
        (err) =>
          this.logger.error('background task failed', {
            task: name,
            err: String((err as Error)?.message ?? err),
          }),
      )
      .finally(() => this.running.delete(task))
    this.running.add(task)
  }

  get size(): number {
    return this.running.size
  }

  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running])
  }
}
