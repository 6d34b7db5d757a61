import { migrate } from '../db/migrate'
import { AppError } from '../lib/errors'
import { createAccount, createPasswordHasher } from '../modules/identity'
import { type CliIO, ExitError, openDatabase, settingsOrExit } from './common'

const USAGE =
  'usage: taskbase create-admin --email EMAIL --username NAME\n' +
  '  The password comes from TASKBASE_ADMIN_PASSWORD or an interactive prompt (never a flag).'

function parseArgs(args: string[]): { email: string; username: string } {
  const values: Record<string, string> = {}
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const m = arg.match(/^--([a-z-]+)(?:=(.*))?$/)
    if (!m) throw new ExitError(`taskbase create-admin: unexpected argument "${arg}"\n${USAGE}`, 2)
    const name = m[1]!
    if (name === 'password')
      throw new ExitError(
        'taskbase create-admin: --password is not accepted (it would end up in shell history and process lists); ' +
          'set TASKBASE_ADMIN_PASSWORD or answer the prompt',
        2,
      )
    if (name !== 'email' && name !== 'username')
      throw new ExitError(`taskbase create-admin: unknown option --${name}\n${USAGE}`, 2)
    const value = m[2] ?? args[++i]
    if (!value) throw new ExitError(`taskbase create-admin: --${name} needs a value\n${USAGE}`, 2)
    values[name] = value
  }
  if (!values.email || !values.username)
    throw new ExitError(`taskbase create-admin: --email and --username are required\n${USAGE}`, 2)
  return { email: values.email.trim().toLowerCase(), username: values.username.trim() }
}

async function readPassword(io: CliIO): Promise<string> {
  const fromEnv = io.env.TASKBASE_ADMIN_PASSWORD
  if (fromEnv) return fromEnv
  const first = io.prompt ? await io.prompt('Password: ', true) : null
  if (first === null)
    throw new ExitError(
      'taskbase create-admin: no password: set TASKBASE_ADMIN_PASSWORD or run it in a terminal',
      2,
    )
  const again = await io.prompt!('Repeat password: ', true)
  if (again !== first) throw new ExitError('taskbase create-admin: the passwords do not match', 1)
  return first
}

/** `taskbase create-admin`: creates a superadmin (migrating the database first if needed). */
export async function createAdminCommand(io: CliIO, args: string[]): Promise<number> {
  const { email, username } = parseArgs(args)
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) || email.length > 254)
    throw new ExitError(`taskbase create-admin: "${email}" is not a valid email address`, 2)
  if (!/^[A-Za-z0-9_-]{3,50}$/.test(username))
    throw new ExitError('taskbase create-admin: the username must be 3-50 letters, digits, _ or -', 2)
  const password = await readPassword(io)
  const settings = settingsOrExit(io, { persistSecret: false })
  const database = await openDatabase(settings)
  try {
    await migrate(database)
    const user = await createAccount(
      { db: database.db, hasher: createPasswordHasher(settings) },
      { email, username, password, role: 'superadmin' },
    )
    io.stdout(`created superadmin ${user.username} <${user.email}> (${user.id})\n`)
    return 0
  } catch (e) {
    if (e instanceof AppError && (e.status === 409 || e.status === 422)) {
      const reasons = e.errors?.map((f) => `${f.field} ${f.message}`).join('; ')
      throw new ExitError(`taskbase create-admin: ${e.detail}${reasons ? ` (${reasons})` : ''}`, 1)
    }
    throw e
  } finally {
    await database.close()
  }
}
