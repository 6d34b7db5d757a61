import { describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import postgres from 'postgres'
import { renderMigrationsModule } from '../../scripts/embed-migrations'
import { createDatabase } from '../../src/db/client'
import { acquireDataDirLock, DataDirLockedError } from '../../src/db/lock'
import { loadMigrations, MigrationDriftError, migrate, pendingMigrations } from '../../src/db/migrate'
import { embeddedMigrations } from '../../src/db/migrations.generated'
import { compilePglite, pgliteAssets } from '../../src/db/pglite-assets'
import { postgresServerUrl, testDatabase } from '../helpers/db'

const tmp = () => mkdtempSync(join(tmpdir(), 'tb-db-'))

describe('data directory lock', () => {
  test('a second holder is refused while the first is alive', () => {
    const dir = tmp()
    const release = acquireDataDirLock(dir)
    writeFileSync(join(dir, 'taskbase.lock'), String(process.ppid)) // pretend a live process (our parent) holds it
    expect(() => acquireDataDirLock(dir)).toThrow(DataDirLockedError)
    writeFileSync(join(dir, 'taskbase.lock'), String(process.pid))
    release()
  })

  test('a lock left by a dead process does not block the next start', () => {
    const dir = tmp()
    writeFileSync(join(dir, 'taskbase.lock'), '999999999')
    const release = acquireDataDirLock(dir)
    expect(readFileSync(join(dir, 'taskbase.lock'), 'utf8')).toBe(String(process.pid))
    release()
    release() // idempotent
  })

  test('another process on the same DATA_DIR refuses with a clear message and leaves the files alone', async () => {
    const dir = tmp()
    const release = acquireDataDirLock(dir)
    try {
      const proc = Bun.spawn([process.execPath, join(import.meta.dir, '../../src/index.ts'), 'migrate'], {
        env: { ...process.env, DATA_DIR: dir, DATABASE_URL: '' },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      expect(await proc.exited).toBe(1)
      const err = await new Response(proc.stderr).text()
      expect(err).toContain('in use by another Taskbase process')
      expect(err).toContain(`pid ${process.pid}`)
    } finally {
      release()
    }
  })
})

describe('migrations', () => {
  test('the embedded module matches drizzle/ (run `bun run db:generate` after changing the schema)', () => {
    const journal = JSON.parse(
      readFileSync(join(import.meta.dir, '../../drizzle/meta/_journal.json'), 'utf8'),
    )
    const expected = renderMigrationsModule(journal.entries)
    expect(readFileSync(join(import.meta.dir, '../../src/db/migrations.generated.ts'), 'utf8')).toBe(expected)
    expect(embeddedMigrations.length).toBe(journal.entries.length)
  })

  test('the test database has every migration applied, and migrating again is a no-op', async () => {
    const database = await testDatabase()
    expect(await pendingMigrations(database)).toEqual([])
    expect(await migrate(database)).toEqual([])
  })

  test('hashes are sha256 of the SQL, as drizzle-kit records them', () => {
    const [first] = loadMigrations()
    const expected = new Bun.CryptoHasher('sha256').update(embeddedMigrations[0]!.sql).digest('hex')
    expect(first!.hash).toBe(expected)
    expect(first!.statements.length).toBeGreaterThan(5)
  })
})

const pgUrl = await postgresServerUrl()
if (!pgUrl)
  console.warn(
    'SKIP concurrent migrators: no PostgreSQL reachable (set DATABASE_URL or start one on 127.0.0.1:5432)',
  )

describe.skipIf(!pgUrl)('migrations on PostgreSQL', () => {
  test('3 concurrent migrators on one fresh database apply the schema once, with no error', async () => {
    const admin = postgres(pgUrl!, { max: 1, onnotice: () => {} })
    const name = `tb_migr_${process.pid}_${Date.now()}`
    await admin.unsafe(`create database ${name}`)
    const url = new URL(pgUrl!)
    url.pathname = `/${name}`
    try {
      const dbs = await Promise.all(
        [1, 2, 3].map(() =>
          createDatabase({
            DATABASE_URL: url.toString(),
            DATA_DIR: '',
            DB_POOL_MAX: 2,
            DB_STATEMENT_TIMEOUT_MS: 60_000,
          }),
        ),
      )
      const results = await Promise.all(dbs.map((d) => migrate(d)))
      expect(results.filter((r) => r.length > 0)).toHaveLength(1)
      expect(results.flat()).toEqual(embeddedMigrations.map((m) => m.tag))
      const [row] = await dbs[0]!.rows<{ n: number }>(
        sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
      )
      expect(row!.n).toBe(embeddedMigrations.length)
      expect(await pendingMigrations(dbs[0]!)).toEqual([])
      await Promise.all(dbs.map((d) => d.close()))
    } finally {
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end()
    }
  })

  test('pendingMigrations lists everything on an empty database', async () => {
    const admin = postgres(pgUrl!, { max: 1, onnotice: () => {} })
    const name = `tb_pending_${process.pid}_${Date.now()}`
    await admin.unsafe(`create database ${name}`)
    const url = new URL(pgUrl!)
    url.pathname = `/${name}`
    try {
      const d = await createDatabase({
        DATABASE_URL: url.toString(),
        DATA_DIR: '',
        DB_POOL_MAX: 1,
        DB_STATEMENT_TIMEOUT_MS: 0,
      })
      expect(await pendingMigrations(d)).toEqual(embeddedMigrations.map((m) => m.tag))
      await d.close()
    } finally {
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end()
    }
  })
})

describe('migration drift', () => {
  test('an applied migration whose file changed is refused with a clear message, and nothing runs', async () => {
    const database = await testDatabase()
    const [real] = loadMigrations()
    const edited = { ...real!, hash: 'edited', statements: ['create table should_not_exist (id int)'] }
    await expect(migrate(database, [edited])).rejects.toThrow(MigrationDriftError)
    await expect(migrate(database, [edited])).rejects.toThrow(
      `migration ${real!.tag} was changed after it was applied`,
    )
    const [t] = await database.rows<{ t: string | null }>(sql`select to_regclass('should_not_exist') as t`)
    expect(t!.t).toBeNull()
  })
})

describe("PGlite's assets", () => {
  test('compile once per process: an early start (src/warm-start.ts) is what the open uses', async () => {
    const early = compilePglite()
    const first = await pgliteAssets()
    expect(first.pgliteWasmModule).toBe(await early)
    const again = await pgliteAssets()
    expect(first.pgliteWasmModule).toBeInstanceOf(WebAssembly.Module)
    expect(again.pgliteWasmModule).toBe(first.pgliteWasmModule)
    expect(again.initdbWasmModule).toBe(first.initdbWasmModule)
    expect(WebAssembly.Module.exports(first.pgliteWasmModule).length).toBeGreaterThan(100)
    expect(first.fsBundle.size).toBeGreaterThan(1_000_000)
  })
})
