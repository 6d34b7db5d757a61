/**
 * Builds dist/taskbase: one executable with the migrations, PGlite's wasm and data, and the docs UI
 * embedded. No --minify: Elysia dispatches on constructor names (see PITFALLS.md), so only
 * whitespace and syntax are minified.
 */
import { $ } from 'bun'

const target = process.env.TARGET ? [`--target=${process.env.TARGET}`] : []
const outfile = process.env.OUTFILE ?? 'dist/taskbase'
const started = performance.now()
await $`bun build --compile --minify-whitespace --minify-syntax --sourcemap --bytecode --format=esm ${target} --define process.env.NODE_ENV='"production"' src/index.ts --outfile ${outfile}`
const size = Bun.file(outfile).size
console.log(
  `built ${outfile}: ${(size / 1024 / 1024).toFixed(1)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`,
)
