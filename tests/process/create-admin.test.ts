import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../../src/cli'
import type { CliIO } from '../../src/cli/common'
import { TEST_PASSWORD, TEST_SECRET } from '../helpers/app'
import { testDatabase, usingPostgres } from '../helpers/db'
import { unique } from '../modules/identity/helpers'

const dataDir = mkdtempSync(join(tmpdir(), 'tb-create-admin-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

function io(env: Record<string, string> = {}, answers: (string | null)[] = []) {
  const out: string[] = []
  const err: string[] = []
  const prompts: [string, boolean | undefined][] = []
  const cli: CliIO = {
    env: {
      ENVIRONMENT: 'test',
      SECRET_KEY: TEST_SECRET,
      PASSWORD_HASH_MEMORY_KIB: '8192',
      PASSWORD_HASH_TIME_COST: '1',
      ...(usingPostgres() ? { DATABASE_URL: process.env.DATABASE_URL! } : { DATA_DIR: dataDir }),
      ...env,
    },
    stdout: (s) => out.push(s),
    stderr: (s) => err.push(s),
    prompt: async (q, hidden) => {
      prompts.push([q, hidden])
      return answers.shift() ?? null
    },
  }
  return { cli, out, err, prompts }
}

describe('taskbase create-admin', () => {
  test('creates a superadmin from TASKBASE_ADMIN_PASSWORD; a second run with the same email fails cleanly', async () => {
    const name = unique('root')
    const args = ['create-admin', '--email', `${name}@Example.com`, `--username=${name}`]
    const first = io({ TASKBASE_ADMIN_PASSWORD: TEST_PASSWORD })
    expect(await runCli(args, first.cli)).toBe(0)
    expect(first.out.join('')).toContain(`created superadmin ${name} <${name}@example.com>`)
    expect(first.out.join('') + first.err.join('')).not.toContain(TEST_PASSWORD)
    if (usingPostgres()) {
      const db = await testDatabase()
      const rows = await db.rows<{ role: string }>(
        (await import('drizzle-orm')).sql`select role from users where username = ${name}`,
      )
      expect(rows[0]!.role).toBe('superadmin')
    }
    const again = io({ TASKBASE_ADMIN_PASSWORD: TEST_PASSWORD })
    expect(
      await runCli(
        ['create-admin', '--email', `${name.toUpperCase()}@example.com`, '--username', unique('o')],
        again.cli,
      ),
    ).toBe(1)
    expect(again.err.join('')).toContain('already exists')
  }, 60_000)

  test('asks twice with a hidden prompt when no env password is set', async () => {
    const name = unique('prompted')
    const ok = io({}, ['Prompted-pw1!', 'Prompted-pw1!'])
    expect(await runCli(['create-admin', '--email', `${name}@example.com`, '--username', name], ok.cli)).toBe(
      0,
    )
    expect(ok.prompts).toEqual([
      ['Password: ', true],
      ['Repeat password: ', true],
    ])
    const mismatch = io({}, ['Prompted-pw1!', 'other'])
    expect(
      await runCli(
        ['create-admin', '--email', `${unique('m')}@example.com`, '--username', unique('m')],
        mismatch.cli,
      ),
    ).toBe(1)
    expect(mismatch.err.join('')).toContain('do not match')
    const noTty = io({}, [null])
    expect(
      await runCli(
        ['create-admin', '--email', `${unique('n')}@example.com`, '--username', unique('n')],
        noTty.cli,
      ),
    ).toBe(2)
    expect(noTty.err.join('')).toContain('TASKBASE_ADMIN_PASSWORD')
  }, 60_000)

  test('refuses --password, bad arguments and a weak password with clear errors', async () => {
    const cases: [string[], number, string][] = [
      [['--email', 'a@b.co', '--username', 'abc', '--password', 'x'], 2, '--password is not accepted'],
      [['--email', 'a@b.co', '--username', 'abc', '--password=x'], 2, '--password is not accepted'],
      [['--email', 'a@b.co'], 2, 'required'],
      [['--email'], 2, 'needs a value'],
      [['--email', 'a@b.co', '--username', 'abc', '--role', 'x'], 2, 'unknown option'],
      [['stray'], 2, 'unexpected argument'],
      [['--email', 'nope', '--username', 'abc'], 2, 'not a valid email'],
      [['--email', 'a@b.co', '--username', 'a b'], 2, 'username must be'],
    ]
    for (const [args, code, message] of cases) {
      const run = io({ TASKBASE_ADMIN_PASSWORD: TEST_PASSWORD })
      expect(await runCli(['create-admin', ...args], run.cli)).toBe(code)
      expect(run.err.join('')).toContain(message)
    }
    const weak = io({ TASKBASE_ADMIN_PASSWORD: 'weak' })
    expect(
      await runCli(
        ['create-admin', '--email', `${unique('w')}@example.com`, '--username', unique('w')],
        weak.cli,
      ),
    ).toBe(1)
    expect(weak.err.join('')).toContain('must contain a digit')
  }, 60_000)
})
