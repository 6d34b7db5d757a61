import { VERSION } from '../lib/version'
import { type CliIO, ExitError, processIO } from './common'

export type { CliIO }

import { backupCommand, restoreCommand } from './backup'
import { createAdminCommand } from './create-admin'
import { healthcheckCommand } from './healthcheck'
import { migrateCommand } from './migrate'
import { openapiCommand } from './openapi'
import { serveCommand } from './serve'

type Command = { run: (io: CliIO, args: string[]) => Promise<number>; help: string }

export const commands: Record<string, Command> = {
  serve: { run: serveCommand, help: 'start the HTTP server (default)' },
  migrate: { run: migrateCommand, help: 'apply pending database migrations and exit' },
  openapi: { run: openapiCommand, help: 'print the OpenAPI document as JSON' },
  'create-admin': {
    run: createAdminCommand,
    help: 'create a superadmin: --email X --username Y (password from TASKBASE_ADMIN_PASSWORD or a prompt)',
  },
  backup: {
    run: backupCommand,
    help: 'FILE: snapshot the embedded database of a stopped DATA_DIR (a running server: GET /api/v1/admin/backup)',
  },
  restore: {
    run: restoreCommand,
    help: 'FILE [--force]: restore a snapshot into DATA_DIR (refuses a non-empty one without --force)',
  },
  healthcheck: {
    run: healthcheckCommand,
    help: 'exit 0 if /health answers on the configured port, 1 otherwise',
  },
}

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length))
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.help}`)
  return [
    `taskbase ${VERSION} — project and task management backend`,
    '',
    'Usage: taskbase [command] [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Options:',
    '  --help, -h     show this help',
    '  --version, -v  print the version',
    '',
    'Configuration comes from environment variables and ./.env (see README).',
    '',
  ].join('\n')
}

/** Runs one command and returns the process exit code, once its output has left the process. */
export async function runCli(argv: string[], io: CliIO = processIO): Promise<number> {
  try {
    return await dispatch(argv, io)
  } finally {
    await io.flush?.()
  }
}

async function dispatch(argv: string[], io: CliIO): Promise<number> {
  const [first, ...rest] = argv
  if (first === '--version' || first === '-v' || first === 'version') {
    io.stdout(`${VERSION}\n`)
    return 0
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    io.stdout(usage())
    return 0
  }
  const name = first ?? 'serve'
  const command = commands[name]
  if (!command) {
    io.stderr(`taskbase: unknown command "${name}"\n\n${usage()}`)
    return 2
  }
  try {
    return await command.run(io, rest)
  } catch (e) {
    if (e instanceof ExitError) {
      io.stderr(`${e.message}\n`)
      return e.code
    }
    io.stderr(`taskbase ${name}: ${(e as Error)?.message ?? e}\n`)
    return 1
  }
}
