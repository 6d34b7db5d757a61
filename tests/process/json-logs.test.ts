import { describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ROOT = join(import.meta.dir, '../..')
const tmp = () => mkdtempSync(join(tmpdir(), 'tb-logs-'))

/**
 * Issue 7 #9: stdout carries JSON lines only. Elysia's sucrose reads hook sources to infer what
 * they use; on the minified code of the shipped binary, one hook's source broke its parser and it
 * printed "[Sucrose] warning" lines at the first admin request. So this runs a bundle minified
 * like the binary (scripts/build.ts), as its own process, and reads everything it printed.
 */
describe('serve logs are JSON lines only', () => {
  test('through login and the first admin-guarded request, on a minified build', async () => {
    const out = tmp()
    const build = Bun.spawnSync(
      [
        process.execPath,
        'build',
        '--minify-whitespace',
        '--minify-syntax',
        '--target=bun',
        '--format=esm',
        '--define',
        'process.env.NODE_ENV="production"',
        join(ROOT, 'src/index.ts'),
        '--outdir',
        out,
      ],
      { cwd: ROOT, stderr: 'pipe', stdout: 'pipe' },
    )
    expect(build.exitCode).toBe(0)
    // the bundle's assets (PGlite's wasm and data) are found relative to the working directory
    const entry = join(out, 'index.js')
    const data = tmp()
    const port = 20000 + Math.floor(Math.random() * 20000)
    const env = {
      ...process.env,
      DATA_DIR: data,
      DATABASE_URL: '',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      SECRET_KEY: 'json-logs-test-secret-key-0123456789abcdef',
      TASKBASE_ADMIN_PASSWORD: 'Adm1n-Passw0rd!xyz',
    }
    const admin = Bun.spawn(
      [process.execPath, entry, 'create-admin', '--email', 'root@example.com', '--username', 'root'],
      { env, cwd: out, stdout: 'pipe', stderr: 'pipe' },
    )
    expect(await admin.exited).toBe(0)
    const proc = Bun.spawn([process.execPath, entry, 'serve'], {
      env,
      cwd: out,
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const base = `http://127.0.0.1:${port}`
    let up = false
    for (let i = 0; i < 300 && !up; i++) {
      await Bun.sleep(100)
      up = await fetch(`${base}/health`).then(
        (r) => r.ok,
        () => false,
      )
    }
    expect(up).toBe(true)
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=root&password=Adm1n-Passw0rd!xyz',
    })
    expect(login.status).toBe(200)
    const { access_token } = (await login.json()) as { access_token: string }
    for (const path of ['/api/v1/users', '/api/v1/users?page=2'])
      expect(
        (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${access_token}` } })).status,
      ).toBe(200)
    proc.kill('SIGTERM')
    expect(await proc.exited).toBe(0)
    const stdout = await new Response(proc.stdout).text()
    const lines = stdout.split('\n').filter((l) => l !== '')
    const notJson = lines.filter((l) => {
      try {
        return typeof JSON.parse(l) !== 'object'
      } catch {
        return true
      }
    })
    expect(notJson).toEqual([])
    // the admin requests were logged (the log is there, and it is all JSON)
    expect(lines.some((l) => l.includes('"route":"/api/v1/users"'))).toBe(true)
    expect(lines.at(-1)).toContain('"msg":"stopped"')
  }, 120_000)
})
