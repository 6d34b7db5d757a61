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

export const processIO: CliIO = {
  env: process.env,
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
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
