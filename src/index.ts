#!/usr/bin/env bun
// First import, so it runs before the rest of the program loads: `serve` on the embedded database
// starts compiling PGlite's wasm now, in the background (restart time, bench/restart.ts).
import './warm-start'
import { runCli } from './cli'

process.exit(await runCli(process.argv.slice(2)))
