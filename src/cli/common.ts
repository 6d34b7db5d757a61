import { ConfigError, loadSettings, type Settings } from '../config'
import { createDatabase, type Database, type DatabaseOptions } from '../db/client'
import { DataDirLockedError } from '../db/lock'
import { createLogger, type Logger } from '../lib/logger'

export class ExitError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message)
  }
}

export interface CliIO {
  env: Record<string, string | undefined>
  stdout: (s: string) => void
  stderr: (s: string) => void
  /** Resolves once everything written so far has left the process (runCli awaits it before exit). */
  flush?: () => Promise<void>
  /** Reads one line from the terminal (hidden when asking for a password), or null with no TTY. */
  prompt?: (question: string, hidden?: boolean) => Promise<string | null>
}

/** The parts of a TTY stream the prompt uses (process.stdin, or a fake in tests). */
export interface PromptInput {
  isTTY?: boolean
  setRawMode(raw: boolean): unknown
  setEncoding(enc: 'utf8'): unknown
  resume(): unknown
  pause(): unknown
  on(event: 'data', fn: (chunk: string) => void): unknown
  off(event: 'data', fn: (chunk: string) => void): unknown
}

/** Reads a line from the terminal; with `hidden`, keystrokes are not echoed. Null without a TTY or on Ctrl-C/D. */
export function terminalPrompt(
  question: string,
  hidden = false,
  input: PromptInput = process.stdin,
  echo: (s: string) => unknown = (s) => process.stderr.write(s),
): Promise<string | null> {
  if (!input.isTTY) return Promise.resolve(null)
  echo(question)
  return new Promise((resolve) => {
    let line = ''
    const finish = (value: string | null) => {
      input.off('data', onData)
      input.setRawMode(false)
      input.pause()
      echo('\n')
      resolve(value)
    }
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish(line)
        if (ch === '\u0003' || ch === '\u0004') return finish(null)
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1)
        else {
          line += ch
          if (!hidden) echo(ch)
        }
      }
    }
    input.setRawMode(true)
    input.setEncoding('utf8')
    input.resume()
    input.on('data', onData)
  })
}

/** The part of a writable stream the CLI writes through (process.stdout, or a fake in tests). */
export interface OutStream {
  write(chunk: string, callback: (err?: Error | null) => void): unknown
}

/**
 * Writes that can be waited for. `process.exit()` drops whatever a pipe has not taken yet (a
 * reader slower than the writer: `taskbase openapi | jq` got 64 KiB of 170), so every write is
 * tracked until its callback says the data left the process, and `flush` waits for them all.
 */
export function trackedWriter(stream: OutStream) {
  const pending = new Set<Promise<void>>()
  return {
    write(s: string) {
      const done = new Promise<void>((resolve) => {
        // an error (EPIPE: the reader went away) ends the wait too; there is no one left to tell
        stream.write(s, () => resolve())
      })
      pending.add(done)
      void done.then(() => pending.delete(done))
    },
    flush: async () => {
      while (pending.size) await Promise.all([...pending])
    },
  }
}

const out = trackedWriter(process.stdout)
const err = trackedWriter(process.stderr)

export const processIO: CliIO = {
  env: process.env,
  stdout: out.write,
  stderr: err.write,
  flush: async () => {
    await Promise.all([out.flush(), err.flush()])
  },
  prompt: (question, hidden) => terminalPrompt(question, hidden),
}

/** Validated settings, or exit code 2 with one line per bad value. */
export function settingsOrExit(io: CliIO, opts: { persistSecret?: boolean } = {}): Settings {
  try {
    return loadSettings({ env: io.env, persistSecret: opts.persistSecret })
  } catch (e) {
    if (e instanceof ConfigError) throw new ExitError(`taskbase: ${e.message}`, 2)
    throw e
  }
}

/** The process logger: JSON lines on stdout, through the tracked writer so runCli's flush covers them. */
export function loggerFor(settings: Settings): Logger {
  return createLogger(settings.LOG_LEVEL, (line) => out.write(`${line}\n`))
}

/** Opens the configured database; a DATA_DIR held by another process is a clean exit 1. */
export async function openDatabase(
  settings: Settings,
  extra: Partial<DatabaseOptions> = {},
): Promise<Database> {
  try {
    return await createDatabase({ ...settings, ...extra })
  } catch (e) {
    if (e instanceof DataDirLockedError) throw new ExitError(`taskbase: ${e.message}`, 1)
    throw e
  }
}
