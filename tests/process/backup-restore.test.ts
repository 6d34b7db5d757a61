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

describe('backup with attachment files (issue 13 #3, issue 12)', () => {
  test('round trip of a running server: every row and every file equal, and served after the restore', async () => {
    const source = tmp()
    const made = io({ DATA_DIR: source, TASKBASE_ADMIN_PASSWORD: TEST_PASSWORD })
    expect(
      await runCli(['create-admin', '--email', 'root@example.com', '--username', 'root'], made.cli),
    ).toBe(0)
    const server = await serveEmbedded(source, {})
    const file = join(tmp(), 'with-files.tar.gz')
    const uploaded: Record<string, string> = {}
    try {
      const login = await fetch(`${server.url}/api/v1/auth/login`, {
        method: 'POST',
        body: new URLSearchParams({ username: 'root', password: TEST_PASSWORD }),
      })
      const { access_token: token } = (await login.json()) as { access_token: string }
      const auth = { authorization: `Bearer ${token}` }
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${server.url}/api/v1${path}`, {
          method,
          headers: { ...auth, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        })
        return res.json() as Promise<{ id: string }>
      }
      const project = await call('POST', '/projects', { name: 'Backed up' })
      const task = await call('POST', `/projects/${project.id}/tasks`, { title: 'with files' })
      for (let i = 0; i < 5; i++) {
        const form = new FormData()
        const text = `file ${i} `.repeat(1000 * (i + 1))
        form.append('file', new Blob([text]), `f${i}.txt`)
        const res = await fetch(`${server.url}/api/v1/tasks/${task.id}/attachments`, {
          method: 'POST',
          headers: auth,
          body: form,
        })
        const a = (await res.json()) as { id: string }
        uploaded[a.id] = text
      }
      const res = await fetch(`${server.url}/api/v1/admin/backup`, { headers: auth })
      expect(res.status).toBe(200)
      await Bun.write(file, await res.arrayBuffer())
    } finally {
      await server.shutdown('test')
    }
    const target = tmp()
    const r = io({ DATA_DIR: target })
    expect(await runCli(['restore', file], r.cli)).toBe(0)
    expect(r.out()).toContain('restored 5 attachment files')
    expect(await contents(target)).toEqual(await contents(source))
    for (const [id, text] of Object.entries(uploaded))
      expect(await Bun.file(join(target, 'attachments', id.slice(-2), id)).text()).toBe(text)
    // the restored server serves them
    const restored = await serveEmbedded(target, { JOBS_ENABLED: 'false' })
    try {
      const login = await fetch(`${restored.url}/api/v1/auth/login`, {
        method: 'POST',
        body: new URLSearchParams({ username: 'root', password: TEST_PASSWORD }),
      })
      const { access_token: token } = (await login.json()) as { access_token: string }
      const [id, text] = Object.entries(uploaded)[0]!
      const got = await fetch(`${restored.url}/api/v1/attachments/${id}/content`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(await got.text()).toBe(text)
    } finally {
      await restored.shutdown('test')
    }
    // a target with attachment files is refused without --force
    const again = io({ DATA_DIR: target })
    expect(await runCli(['restore', file], again.cli)).toBe(1)
    expect(again.err()).toContain('--force')
  }, 120_000)

  test('a backup of the earlier format (a bare database snapshot) still restores', async () => {
    const source = tmp()
    const made = io({ DATA_DIR: source, TASKBASE_ADMIN_PASSWORD: TEST_PASSWORD })
    expect(await runCli(['create-admin', '--email', 'old@example.com', '--username', 'old'], made.cli)).toBe(
      0,
    )
    const database = await createDatabase({ DATA_DIR: source, DB_POOL_MAX: 1, DB_STATEMENT_TIMEOUT_MS: 0 })
    const file = join(tmp(), 'v1.tar.gz')
    try {
      await Bun.write(file, await database.dump!())
    } finally {
      await database.close()
    }
    const target = tmp()
    const r = io({ DATA_DIR: target })
    expect(await runCli(['restore', file], r.cli)).toBe(0)
    expect(r.out()).not.toContain('attachment')
    expect(await contents(target)).toEqual(await contents(source))
  }, 60_000)

  test('format detection: a gzip that holds no tar, or a tar.gz of something else, restores nothing', async () => {
    const { backupFormat } = await import('../../src/modules/backup')
    const gz = join(tmp(), 'x.tar.gz')
    writeFileSync(gz, Bun.gzipSync('not a tar at all'))
    expect(await backupFormat(gz)).toBe('unknown')
    const target = tmp()
    const bad = io({ DATA_DIR: target })
    expect(await runCli(['restore', gz], bad.cli)).toBe(2)
    expect(bad.err()).toContain('not a Taskbase backup')
    expect(existsSync(join(target, 'pgdata'))).toBe(false)
    const empty = join(tmp(), 'empty.tar.gz')
    writeFileSync(empty, Bun.gzipSync(new Uint8Array(1024)))
    expect(await backupFormat(empty)).toBe('unknown')
  })

  test('a snapshot that fails makes the archive stream fail (never a short archive) and releases the hold', async () => {
    const { backupStream } = await import('../../src/modules/backup')
    const { LocalStorage } = await import('../../src/modules/attachments')
    const root = tmp()
    const failing = {
      dump: async () => {
        throw new Error('disk on fire')
      },
    } as unknown as Parameters<typeof backupStream>[0]
    await expect(new Response(backupStream(failing, new LocalStorage(root))).arrayBuffer()).rejects.toThrow()
    const storage = new LocalStorage(root)
    await storage.delete(Bun.randomUUIDv7()) // not held: returns at once
  })

  test('a delete of a file waits while a backup holds the directory', async () => {
    const { holdDeletes, LocalStorage } = await import('../../src/modules/attachments')
    const root = tmp()
    const storage = new LocalStorage(root)
    const key = Bun.randomUUIDv7()
    const path = storage.pathOf(key)
    await Bun.write(path, 'x')
    const release = holdDeletes(root)
    let deleted = false
    const pending = storage.delete(key).then(() => {
      deleted = true
    })
    await Bun.sleep(50)
    expect(deleted).toBe(false)
    expect(existsSync(path)).toBe(true)
    release()
    release() // idempotent
    await pending
    expect(existsSync(path)).toBe(false)
  })
})
