/**
 * Restart time of the binary on an existing embedded data dir: process start → /ready answers 200.
 * Usage: bun run build && bun bench/restart.ts [runs=5] [binary=dist/taskbase]
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { freePort, ROOT } from './lib'

const runs = Number(process.argv[2] ?? 5)
const binary = resolve(process.argv[3] ?? join(ROOT, 'dist/taskbase'))
if (!(await Bun.file(binary).exists())) throw new Error('build the binary first: bun run build')
const dir = mkdtempSync(join(tmpdir(), 'tb-restart-'))

async function startOnce(): Promise<number> {
  const port = freePort()
  const t0 = performance.now()
  const proc = Bun.spawn([binary, 'serve'], {
    cwd: dir,
    env: { ...process.env, DATABASE_URL: '', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdout: 'ignore',
    stderr: 'ignore',
  })
  for (;;) {
    if (
      await fetch(`http://127.0.0.1:${port}/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break
    await Bun.sleep(5)
  }
  const ms = performance.now() - t0
  proc.kill('SIGTERM')
  await proc.exited
  return ms
}

const first = await startOnce()
const times: number[] = []
for (let i = 0; i < runs; i++) times.push(await startOnce())
times.sort((a, b) => a - b)
const size = Bun.file(binary).size / 1024 / 1024
console.log(`binary: ${size.toFixed(1)} MiB`)
console.log(`first start (initdb + migrations): ${first.toFixed(0)} ms`)
console.log(
  `restart on existing data dir, ${runs} runs: median ${times[Math.floor(runs / 2)]!.toFixed(0)} ms, min ${times[0]!.toFixed(0)} ms, max ${times.at(-1)!.toFixed(0)} ms`,
)
