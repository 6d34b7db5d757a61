import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createDatabase, type Database } from '../db/client'
import { acquireDataDirLock, DataDirLockedError } from '../db/lock'
import { attachmentsDir, createStorage } from '../modules/attachments'
import { backupFormat, backupStream, unpackBackup } from '../modules/backup'
import { type CliIO, ExitError, openDatabase, settingsOrExit } from './common'

const notABackup = (file: string) =>
  new ExitError(`taskbase: ${file} is not a Taskbase backup (a gzipped tar from taskbase backup)`, 2)

const PG_DUMP_HINT =
  'with DATABASE_URL set, back up PostgreSQL with its own tools: pg_dump -Fc "$DATABASE_URL" -f taskbase.dump ' +
  '(restore: pg_restore -d "$DATABASE_URL" --clean taskbase.dump)'

function fileArg(args: string[], command: string): string {
  const file = args.find((a) => !a.startsWith('--'))
  if (!file)
    throw new ExitError(
      `taskbase: usage: taskbase ${command} FILE${command === 'restore' ? ' [--force]' : ''}`,
      2,
    )
  return resolve(file)
}

/**
 * `taskbase backup FILE`: a consistent snapshot of the embedded database (gzipped tar) from a
 * stopped DATA_DIR. While a server holds the directory, take it from the server instead
 * (GET /api/v1/admin/backup as a superadmin): no downtime.
 */
export async function backupCommand(io: CliIO, args: string[]): Promise<number> {
  const settings = settingsOrExit(io, { persistSecret: false })
  if (settings.DATABASE_URL)
    throw new ExitError(`taskbase: backup is for the embedded database; ${PG_DUMP_HINT}`, 2)
  const file = fileArg(args, 'backup')
  let database: Database
  try {
    database = await createDatabase(settings)
  } catch (e) {
    if (e instanceof DataDirLockedError)
      throw new ExitError(
        `taskbase: ${e.message}. To back up a running server without stopping it: ` +
          'curl -fH "Authorization: Bearer <superadmin token>" http://HOST:PORT/api/v1/admin/backup -o backup.tar.gz',
        1,
      )
    throw e
  }
  try {
    const tmp = `${file}.partial`
    const bytes = await Bun.write(tmp, new Response(backupStream(database, createStorage(settings))))
    renameSync(tmp, file)
    io.stdout(`wrote ${file} (${bytes} bytes)\n`)
    return 0
  } finally {
    await database.close()
  }
}

const hasData = (dir: string) => existsSync(dir) && readdirSync(dir).length > 0

/**
 * `taskbase restore FILE [--force]`: the snapshot into DATA_DIR. Refuses while a server holds the
 * directory, and refuses one that already holds a database unless --force (which moves the old
 * one aside as pgdata.before-restore-<time>, and back if the restore fails).
 */
export async function restoreCommand(io: CliIO, args: string[]): Promise<number> {
  const settings = settingsOrExit(io, { persistSecret: false })
  if (settings.DATABASE_URL)
    throw new ExitError(`taskbase: restore is for the embedded database; ${PG_DUMP_HINT}`, 2)
  const file = fileArg(args, 'restore')
  if (!existsSync(file)) throw new ExitError(`taskbase: no such file: ${file}`, 2)
  const dir = resolve(settings.DATA_DIR)
  const pgdata = join(dir, 'pgdata')
  const files = attachmentsDir(settings)
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  let release: () => void
  try {
    release = acquireDataDirLock(dir)
  } catch (e) {
    if (e instanceof DataDirLockedError) throw new ExitError(`taskbase: ${e.message}`, 1)
    throw e
  }
  let aside: string | undefined
  let filesAside: string | undefined
  let format: Awaited<ReturnType<typeof backupFormat>>
  try {
    format = await backupFormat(file)
    if (format === 'unknown') throw notABackup(file)
    if (hasData(pgdata) || hasData(files)) {
      if (!args.includes('--force'))
        throw new ExitError(
          `taskbase: ${dir} already holds a database or attachment files; restore into an empty DATA_DIR, or pass --force to replace them`,
          1,
        )
      if (hasData(pgdata)) {
        aside = `${pgdata}.before-restore-${stamp}`
        renameSync(pgdata, aside)
      }
      if (hasData(files)) {
        filesAside = `${files}.before-restore-${stamp}`
        renameSync(files, filesAside)
      }
    }
  } finally {
    release()
  }
  const dbFile = join(dir, `restore-${stamp}.tar.gz`)
  try {
    let snapshot = Bun.file(file)
    if (format === 'taskbase') {
      const { files: n } = await unpackBackup(file, dbFile, files)
      io.stdout(`restored ${n} attachment file${n === 1 ? '' : 's'} into ${files}\n`)
      snapshot = Bun.file(dbFile)
    }
    const database = await openDatabase(settings, { loadDataDir: snapshot })
    try {
      await database.ping()
    } finally {
      await database.close()
    }
  } catch (e) {
    rmSync(pgdata, { recursive: true, force: true })
    if (aside) renameSync(aside, pgdata)
    if (format === 'taskbase') rmSync(files, { recursive: true, force: true })
    if (filesAside) renameSync(filesAside, files)
    throw e instanceof ExitError ? e : new ExitError(`taskbase: restore failed: ${(e as Error).message}`, 1)
  } finally {
    rmSync(dbFile, { force: true })
  }
  io.stdout(`restored ${file} into ${dir}${aside ? ` (the previous database is in ${aside})` : ''}\n`)
  return 0
}
