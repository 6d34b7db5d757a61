/** The value of `p`, or `fallback` when it fails (a missing file or directory, a best-effort cleanup). */
export async function orElse<T, F>(p: Promise<T> | undefined | null, fallback: F): Promise<T | F> {
  try {
    return (await p) ?? fallback
  } catch {
    return fallback
  }
}
