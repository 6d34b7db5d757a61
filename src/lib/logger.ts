const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const
export type LogLevel = keyof typeof LEVELS
export type LogFields = Record<string, unknown>

export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
}

export type LogSink = (line: string) => void

const stdoutSink: LogSink = (line) => process.stdout.write(`${line}\n`)

function serializeError(e: unknown) {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack }
  return e
}

/** One JSON object per line. Callers never pass bodies, tokens or passwords. */
export function createLogger(level: LogLevel = 'info', sink: LogSink = stdoutSink): Logger {
  const min = LEVELS[level]
  const write = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVELS[lvl] < min) return
    const entry: LogFields = { time: new Date().toISOString(), level: lvl, msg, ...fields }
    if (entry.err) entry.err = serializeError(entry.err)
    sink(JSON.stringify(entry))
  }
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  }
}

/** Keeps lines in memory: for tests that assert what is (and is not) logged. */
export function memoryLogger(level: LogLevel = 'debug') {
  const lines: string[] = []
  const logger = createLogger(level, (l) => lines.push(l))
  return { logger, lines, entries: () => lines.map((l) => JSON.parse(l) as LogFields) }
}
