import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { type CliIO, runCli } from '../../src/cli'
import { createDatabase } from '../../src/db/client'
import { TEST_PASSWORD, TEST_SECRET } from '../helpers/app'
import { serveEmbedded } from '../helpers/serve'

/** Issue 13 #3: backup and restore of the embedded database, offline and from a running server. */
const ENTRY = join(import.meta.dir, '../../src/index.ts')
const dirs: string[] = []
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'tb-backup-'))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function io(env: Record<string, string>) {
  const out: string[] = []
  const err: string[] = []
  const cli: CliIO = {
    env: { SECRET_KEY: TEST_SECRET, LOG_LEVEL: 'error', ...env },
    stdout: (s) => out.push(s),
    stderr: (s) => err.push(s),
  }
  return { cli, out: () => out.join(''), err: () => err.join('') }
}

const TABLES = ['users', 'sessions', 'projects', 'project_members', 'tasks', 'comments', 'events', 'jobs']
/** Every row of every table, as JSON text in a stable order: equal snapshots give equal strings. */
async function contents(dataDir: string) {
  const database = await createDatabase({ DATA_DIR: dataDir, DB_POOL_MAX: 1, DB_STATEMENT_TIMEOUT_MS: 0 })
  try {
    const out: Record<string, unknown[]> = {}
    for (const t of TABLES)
      out[t] = await database
        .rows(sql.raw(`select * from ${t} order by 1`))
        .then((rows) => rows.map((r) => JSON.stringify(r)))
    return out
  } finally {
    await database.close()
  }
}

describe('taskbase backup / restore', () => {
  test('round trip from a stopped data dir: every row equal; a non-empty target needs --force', async () => {
    const source = tmp()
    const server = await serveEmbedded(source, { JOBS_ENABLED: 'false' })
    try {
      const reg = await fetch(`${server.url}/api/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'ada@example.com', username: 'ada', password: TEST_PASSWORD }),
      })
      expect(reg.status).toBe(201)
      // while the server holds the directory, a backup process refuses and says how to do it online
      const busy = Bun.spawn([process.execPath, ENTRY, 'backup', join(tmp(), 'x.tar.gz')], {
        env: {
          ...process.env,
          DATA_DIR: source,
          DATABASE_URL: '',
          SECRET_KEY: TEST_SECRET,
          LOG_LEVEL: 'error',
        },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      expect(await busy.exited).toBe(1)
      expect(await new Response(busy.stderr).text()).toContain('/api/v1/admin/backup')
    } finally {
      await server.shutdown('test')
    }
    const file = join(tmp(), 'taskbase.tar.gz')
    const b = io({ DATA_DIR: source })
    expect(await runCli(['backup', file], b.cli)).toBe(0)
    expect(b.out()).toContain('wrote')
    expect(existsSync(`${file}.partial`)).toBe(false)

    const target = tmp()
    const r = io({ DATA_DIR: target })
    expect(await runCli(['restore', file], r.cli)).toBe(0)
    const [before, after] = [await contents(source), await contents(target)]
    expect(after.users).toHaveLength(1)
    expect(after).toEqual(before)

    // the target now holds a database: refused without --force, replaced (old one kept aside) with it
    const again = io({ DATA_DIR: target })
    expect(await runCli(['restore', file], again.cli)).toBe(1)
    expect(again.err()).toContain('--force')
    const forced = io({ DATA_DIR: target })
    expect(await runCli(['restore', file, '--force'], forced.cli)).toBe(0)
    expect(readdirSync(target).some((n) => n.startsWith('pgdata.before-restore-'))).toBe(true)
    expect(await contents(target)).toEqual(before)
  }, 120_000)

  test('a running server streams a consistent snapshot to a superadmin; others are refused', async () => {
    const source = tmp()
    // a superadmin made before the server starts
    const made = io({ DATA_DIR: source, TASKBASE_ADMIN_PASSWORD: TEST_PASSWORD })
    expect(
      await runCli(['create-admin', '--email', 'root@example.com', '--username', 'root'], made.cli),
    ).toBe(0)
    const server = await serveEmbedded(source, { JOBS_ENABLED: 'false' })
    const file = join(tmp(), 'online.tar.gz')
    try {
      const login = await fetch(`${server.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: 'root', password: TEST_PASSWORD }),
      })
      const { access_token } = (await login.json()) as { access_token: string }
      expect((await fetch(`${server.url}/api/v1/admin/backup`)).status).toBe(401)
      const res = await fetch(`${server.url}/api/v1/admin/backup`, {
        headers: { authorization: `Bearer ${access_token}` },
      })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/gzip')
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="taskbase-.*\.tar\.gz"$/)
      expect(res.headers.get('x-request-id')).toBeTruthy()
      await Bun.write(file, await res.arrayBuffer())
      // the server keeps serving after it
      expect((await fetch(`${server.url}/ready`)).status).toBe(200)
    } finally {
      await server.shutdown('test')
    }
    const target = tmp()
    expect(await runCli(['restore', file], io({ DATA_DIR: target }).cli)).toBe(0)
    const restored = await contents(target)
    expect(restored.users).toHaveLength(1)
    expect(restored).toEqual(await contents(source))
  }, 120_000)

  test('a DATA_DIR held by another live process is refused by both; a file that is no archive restores nothing', async () => {
    // pid 1 is always alive: its lock is a real one
    const held = tmp()
    writeFileSync(join(held, 'taskbase.lock'), '1')
    const b = io({ DATA_DIR: held })
    expect(await runCli(['backup', join(tmp(), 'x.tar.gz')], b.cli)).toBe(1)
    expect(b.err()).toContain('pid 1')
    const gz = join(tmp(), 'some.tar.gz')
    writeFileSync(gz, Bun.gzipSync('x'))
    const r = io({ DATA_DIR: held })
    expect(await runCli(['restore', gz], r.cli)).toBe(1)
    expect(r.err()).toContain('pid 1')
    // not an archive at all: a usage error, and the target is left untouched
    const archive = join(tmp(), 'garbage.tar.gz')
    writeFileSync(archive, 'not a tar')
    const target = tmp()
    const bad = io({ DATA_DIR: target })
    expect(await runCli(['restore', archive], bad.cli)).toBe(2)
    expect(bad.err()).toContain('not a Taskbase backup')
    expect(existsSync(join(target, 'pgdata'))).toBe(false)
  }, 60_000)

  test('PostgreSQL mode refuses both with the pg_dump way; bad arguments are usage errors', async () => {
    const pg = io({ DATABASE_URL: 'postgres://127.0.0.1:1/none', DATA_DIR: tmp() })
    expect(await runCli(['backup', 'x.tar.gz'], pg.cli)).toBe(2)
    expect(pg.err()).toContain('pg_dump')
    const pg2 = io({ DATABASE_URL: 'postgres://127.0.0.1:1/none', DATA_DIR: tmp() })
    expect(await runCli(['restore', 'x.tar.gz'], pg2.cli)).toBe(2)
    expect(pg2.err()).toContain('pg_restore')
    const none = io({ DATA_DIR: tmp() })
    expect(await runCli(['backup'], none.cli)).toBe(2)
    const missing = io({ DATA_DIR: tmp() })
    expect(await runCli(['restore', join(tmp(), 'nope.tar.gz')], missing.cli)).toBe(2)
  })
})
