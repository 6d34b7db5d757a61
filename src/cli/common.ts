import { ConfigError, loadSettings, type Settings } from '../config'
import { createDatabase, type Database } from '../db/client'
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
  /** Reads one line from the terminal (hidden when asking for a password), or null with no TTY. */
  prompt?: (question: string, hidden?: boolean) => Promise<string | null>
}

/** Reads a line from the terminal; with `hidden`, keystrokes are not echoed. Null without a TTY. */
export function terminalPrompt(question: string, hidden = false): Promise<string | null> {
  const stdin = process.stdin
  if (!stdin.isTTY) return Promise.resolve(null)
  process.stderr.write(question)
  return new Promise((resolve) => {
    let line = ''
    const finish = (value: string | null) => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
      resolve(value)
    }
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish(line)
        if (ch === '\u0003' || ch === '\u0004') return finish(null)
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1)
        else {
          line += ch
          if (!hidden) process.stderr.write(ch)
        }
      }
    }
    stdin.setRawMode(true)
    stdin.setEncoding('utf8')
    stdin.resume()
    stdin.on('data', onData)
  })
}

export const processIO: CliIO = {
  env: process.env,
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  prompt: terminalPrompt,
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

export function loggerFor(settings: Settings): Logger {
  return createLogger(settings.LOG_LEVEL)
}

/** Opens the configured database; a DATA_DIR held by another process is a clean exit 1. */
export async function openDatabase(settings: Settings): Promise<Database> {
  try {
    return await createDatabase(settings)
  } catch (e) {
    if (e instanceof DataDirLockedError) throw new ExitError(`taskbase: ${e.message}`, 1)
    throw e
  }
}
