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

export const processIO: CliIO = {
  env: process.env,
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
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
