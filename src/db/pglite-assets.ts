import { readFileSync } from 'node:fs'
import initdbWasmPath from '@electric-sql/pglite/initdb.wasm' with { type: 'file' }
import fsBundlePath from '@electric-sql/pglite/pglite.data' with { type: 'file' }
import pgliteWasmPath from '@electric-sql/pglite/pglite.wasm' with { type: 'file' }

const compiled: { wasm?: Promise<WebAssembly.Module>; initdb?: Promise<WebAssembly.Module> } = {}

/**
 * Starts compiling PGlite's wasm (embedded in the binary) if nothing has yet; once per process.
 * The file is read synchronously so the compile starts now, on the engine's compiler threads: called
 * first thing at startup, it overlaps loading the rest of the program (src/index.ts).
 */
export function compilePglite(): Promise<WebAssembly.Module> {
  compiled.wasm ??= WebAssembly.compile(readFileSync(pgliteWasmPath))
  return compiled.wasm
}

/** PGlite's options for its wasm and data files. */
export async function pgliteAssets() {
  compiled.initdb ??= WebAssembly.compile(readFileSync(initdbWasmPath))
  const [pgliteWasmModule, initdbWasmModule] = await Promise.all([compilePglite(), compiled.initdb])
  return { pgliteWasmModule, initdbWasmModule, fsBundle: Bun.file(fsBundlePath) }
}
