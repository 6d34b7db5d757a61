/** Shared pieces of the benchmarks: wrk runs, server processes, API seeding. */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'

export const ROOT = join(import.meta.dir, '..')

export interface WrkResult {
  rps: number
  p50: number
  p99: number
  errors: number
  requests: number
}

/** Runs wrk with a Lua script that sets method, headers and body; parses req/s and latency percentiles. */
export async function wrk(opts: {
  url: string
  connections: number
  seconds: number
  method?: string
  headers?: Record<string, string>
  body?: string
  /** Lua body of `request = function() ... end` for per-request variation. */
  luaRequest?: string
  threads?: number
}): Promise<WrkResult> {
  const lines = [`wrk.method = ${JSON.stringify(opts.method ?? 'GET')}`]
  for (const [k, v] of Object.entries(opts.headers ?? {}))
    lines.push(`wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
  if (opts.body) lines.push(`wrk.body = ${JSON.stringify(opts.body)}`)
  if (opts.luaRequest) lines.push(opts.luaRequest)
  lines.push(
    'done = function(summary, latency, requests)',
    '  io.write(string.format("JSON{\\"p50\\":%f,\\"p99\\":%f,\\"requests\\":%d,\\"non2xx\\":%d,\\"errors\\":%d}\\n",',
    '    latency:percentile(50)/1000, latency:percentile(99)/1000, summary.requests, summary.errors.status,',
    '    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))',
    'end',
  )
  const script = join(mkdtempSync(join(tmpdir(), 'wrk-')), 's.lua')
  writeFileSync(script, lines.join('\n'))
  const threads = opts.threads ?? 1
  const proc = Bun.spawn(
    [
      'wrk',
      `-t${threads}`,
      `-c${opts.connections}`,
      `-d${opts.seconds}s`,
      '--timeout',
      '10s',
      '-s',
      script,
      opts.url,
    ],
    { stdout: 'pipe', stderr: 'pipe' },
  )
  const out = await new Response(proc.stdout).text()
  await proc.exited
  const rps = Number(out.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? 0)
  const json = out.match(/JSON(\{.*\})/)?.[1]
  if (!json) throw new Error(`wrk output not understood:\n${out}\n${await new Response(proc.stderr).text()}`)
  const j = JSON.parse(json)
  return { rps, p50: j.p50, p99: j.p99, errors: j.non2xx + j.errors, requests: j.requests }
}

export async function waitFor(url: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return
    await Bun.sleep(50)
  }
  throw new Error(`${url} did not come up`)
}

export function freePort(): number {
  return 30000 + Math.floor(Math.random() * 20000)
}

export interface Started {
  proc: Subprocess
  base: string
  stop(): Promise<void>
}

/** Starts Taskbase (the built binary if present, else the source) with the given environment. */
export async function startTaskbase(
  env: Record<string, string>,
  cwd?: string,
  build?: string,
): Promise<Started> {
  const port = freePort()
  const binary = build ?? join(ROOT, 'dist/taskbase')
  const cmd =
    !build && (process.env.BENCH_SOURCE || !(await Bun.file(binary).exists()))
      ? [process.execPath, join(ROOT, 'src/index.ts'), 'serve']
      : [binary, 'serve']
  const proc = Bun.spawn(cmd, {
    cwd: cwd ?? mkdtempSync(join(tmpdir(), 'tb-bench-')),
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      SECRET_KEY: 'bench-secret-key-0123456789-abcdefghijkl',
      // one bench user makes thousands of requests a second: the per-caller limits are off
      RATE_LIMIT_READS_PER_MINUTE: '0',
      RATE_LIMIT_WRITES_PER_MINUTE: '0',
      RATE_LIMIT_EXPORTS_PER_MINUTE: '0',
      ...env,
    },
    stdout: 'ignore',
    stderr: 'inherit',
  })
  const base = `http://127.0.0.1:${port}`
  await waitFor(`${base}/ready`, 60_000)
  return {
    proc,
    base,
    async stop() {
      proc.kill('SIGTERM')
      await proc.exited
    },
  }
}

export async function api<T = any>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<T> {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${text}`)
  return (text ? JSON.parse(text) : undefined) as T
}

export const BENCH_PASSWORD = 'Bench-Passw0rd!'

/** Registers and logs in a fresh user; returns the access token. */
export async function userToken(
  base: string,
  name = `bench${Date.now()}${Math.floor(Math.random() * 1e6)}`,
): Promise<string> {
  await api(base, 'POST', '/auth/register', {
    email: `${name}@example.com`,
    username: name,
    password: BENCH_PASSWORD,
  })
  const login = await api<{ access_token: string }>(base, 'POST', '/auth/login', {
    username: name,
    password: BENCH_PASSWORD,
  })
  return login.access_token
}

/** A fresh PostgreSQL database for a benchmark run; dropped by the returned function. */
export async function freshPostgres(
  adminUrl = process.env.BENCH_PG_ADMIN ?? 'postgres://postgres@127.0.0.1:5432/postgres',
) {
  const postgres = (await import('postgres')).default
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  const name = `taskbase_bench_${process.pid}_${Date.now()}`
  await admin.unsafe(`create database ${name}`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end()
    },
  }
}

export function table(rows: Record<string, string | number>[]): string {
  const cols = Object.keys(rows[0] ?? {})
  const fmt = (v: string | number) =>
    typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v
  return [
    `| ${cols.join(' | ')} |`,
    `|${cols.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cols.map((c) => fmt(r[c] ?? '')).join(' | ')} |`),
  ].join('\n')
}
