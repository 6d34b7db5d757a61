import { expect, test } from 'bun:test'
import { createTestApp, createUser, unique } from '../helpers/app'

/** `taskbase openapi` in a fresh process: no route of it has run. */
function cliDocument(): string {
  const run = Bun.spawnSync(['bun', 'src/index.ts', 'openapi'], {
    cwd: `${import.meta.dir}/../..`,
    env: { ...process.env, ENVIRONMENT: 'test', SECRET_KEY: 'k'.repeat(48), DATABASE_URL: '' },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  if (run.exitCode !== 0) throw new Error(`taskbase openapi failed: ${run.stderr.toString()}`)
  return run.stdout.toString()
}

/** null when equal, else both texts around the first differing character (short failure messages). */
function firstDifference(a: string, b: string): string | null {
  if (a === b) return null
  let i = 0
  while (i < a.length && a[i] === b[i]) i++
  return `at ${i}: ${a.slice(Math.max(0, i - 120), i + 60)}\n  vs: ${b.slice(Math.max(0, i - 120), i + 60)}`
}

test('/openapi.json is the same document as `taskbase openapi`, whatever ran before its first fetch', async () => {
  const ctx = await createTestApp()
  const user = await createUser(ctx)
  // routes with bodies, queries and responses run (and compile) before the document is first built
  await ctx.req('POST', '/api/v1/auth/register', {
    body: { email: 'x', username: 'y', password: 'z', junk: 1 },
  })
  await ctx.req('POST', '/api/v1/auth/login', {
    body: 'username=nobody&password=x',
    raw: true,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  await ctx.req('PATCH', '/api/v1/users/me', { token: user.token, body: { full_name: 'Ada' } })
  const project = await ctx.req('POST', '/api/v1/projects', {
    token: user.token,
    body: { name: unique('P') },
  })
  expect(project.status).toBe(201)
  const task = await ctx.req('POST', `/api/v1/projects/${project.body.id}/tasks`, {
    token: user.token,
    body: { title: 'T', extra: true },
  })
  expect(task.status).toBe(422)
  await ctx.req('GET', `/api/v1/projects/${project.body.id}/tasks?page_size=5&sort=-priority`, {
    token: user.token,
  })
  await ctx.req('GET', '/api/v1/users/me/tasks', { token: user.token })
  await ctx.req('GET', '/health')

  const served = await ctx.req('GET', '/openapi.json')
  const cli = cliDocument()
  expect(served.status).toBe(200)
  // the CLI pretty-prints; the bytes of the same JSON value must match
  expect(firstDifference(served.text, JSON.stringify(JSON.parse(cli)))).toBeNull()
  expect(firstDifference(cli, `${JSON.stringify(served.body, null, 2)}\n`)).toBeNull()
  // and it does not change on later fetches
  expect(firstDifference((await ctx.req('GET', '/openapi.json')).text, served.text)).toBeNull()
}, 60_000)
