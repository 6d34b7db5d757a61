/**
 * Several instances behind a real load balancer (issue 13 #4): three binaries on one PostgreSQL
 * behind HAProxy (Debian's package, installed when missing), clients writing and reading through
 * it for --seconds while the instances restart one at a time (SIGTERM, wait, start again). Counts
 * every failed request, checks that every acknowledged write is in the database, and that a
 * session ended through one instance is refused by the others on the next request.
 *   bun run build && bun bench/rolling-restart.ts [--seconds=30] [--clients=16]
 * Exit code 1 when a request failed or an acknowledged write is missing.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { api, freePort, freshPostgres, ROOT, table, waitFor } from './lib'

const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def
const seconds = Number(arg('seconds', '30'))
const clients = Number(arg('clients', '16'))
const binary = join(ROOT, 'dist/taskbase')
if (!(await Bun.file(binary).exists())) throw new Error('build the binary first: bun run build')

if (!Bun.which('haproxy')) {
  console.error('installing haproxy (Debian package)…')
  const apt = Bun.spawnSync(['sh', '-c', 'apt-get update -qq && apt-get install -y -qq haproxy'], {
    stdout: 'ignore',
    stderr: 'inherit',
  })
  if (apt.exitCode !== 0 || !Bun.which('haproxy'))
    throw new Error('haproxy is missing and could not be installed')
}

const pg = await freshPostgres()
const SECRET = 'rolling-restart-secret-0123456789-abcdefgh'
const ports = [freePort(), freePort(), freePort()]
const lbPort = freePort()
const work = mkdtempSync(join(tmpdir(), 'tb-rolling-'))

function startInstance(port: number) {
  const proc = Bun.spawn([binary, 'serve'], {
    cwd: work,
    env: {
      ...process.env,
      DATABASE_URL: pg.url,
      DB_POOL_MAX: '8',
      HOST: '127.0.0.1',
      PORT: String(port),
      SECRET_KEY: SECRET,
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '10000',
      // longer than the health check needs to see /ready's 503 (fall 2 × inter 200 ms)
      SHUTDOWN_DELAY_MS: '1000',
      RATE_LIMIT_READS_PER_MINUTE: '0',
      RATE_LIMIT_WRITES_PER_MINUTE: '0',
      REGISTER_LIMIT_PER_HOUR: '1000',
    },
    stdout: 'ignore',
    stderr: 'inherit',
  })
  return proc
}

const instances = ports.map(startInstance)
await Promise.all(ports.map((p) => waitFor(`http://127.0.0.1:${p}/ready`, 60_000)))

// HTTP to the servers without keep-alive: a stopping instance refuses new connections at once,
// and HAProxy retries a refused connection on another server (redispatch) — never a request that
// reached one, so no write is ever sent twice.
const cfg = join(work, 'haproxy.cfg')
writeFileSync(
  cfg,
  `global
  maxconn 4096
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch
  option http-server-close
  retry-on conn-failure
frontend taskbase
  bind 127.0.0.1:${lbPort}
  default_backend instances
backend instances
  balance roundrobin
  option httpchk GET /ready
  http-check expect status 200
  timeout check 2s
  default-server inter 200ms fall 2 rise 2
${ports.map((p, i) => `  server i${i} 127.0.0.1:${p} check`).join('\n')}
`,
)
const haproxy = Bun.spawn(['haproxy', '-f', cfg, '-db'], { stdout: 'ignore', stderr: 'inherit' })
const base = `http://127.0.0.1:${lbPort}`
await waitFor(`${base}/ready`, 10_000)

const sql = postgres(pg.url, { max: 2, onnotice: () => {} })
let exitCode = 0
try {
  const name = `roll${Date.now()}`
  await api(base, 'POST', '/auth/register', {
    email: `${name}@example.com`,
    username: name,
    password: 'Bench-Pass-123!',
  })
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    body: new URLSearchParams({ username: name, password: 'Bench-Pass-123!' }),
  })
  const token = ((await login.json()) as { access_token: string }).access_token
  const project = await api<{ id: string }>(base, 'POST', '/projects', { name: `Rolling ${name}` }, token)

  const acknowledged: string[] = []
  const failures: string[] = []
  let requests = 0
  const deadline = Date.now() + seconds * 1000
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const client = async (n: number) => {
    for (let i = 0; Date.now() < deadline; i++) {
      requests++
      try {
        if (i % 2 === 0) {
          const res = await fetch(`${base}/api/v1/projects/${project.id}/tasks`, {
            method: 'POST',
            headers: auth,
            body: JSON.stringify({ title: `client ${n} task ${i}` }),
          })
          if (res.status === 201) acknowledged.push(((await res.json()) as { id: string }).id)
          else failures.push(`POST ${res.status} ${(await res.text()).slice(0, 120)}`)
        } else {
          const res = await fetch(`${base}/api/v1/users/me`, { headers: auth })
          if (res.status !== 200) failures.push(`GET ${res.status}`)
          else await res.arrayBuffer()
        }
      } catch (e) {
        failures.push(`network: ${(e as Error).message}`)
      }
    }
  }
  const restarts: { instance: number; down_ms: number }[] = []
  const restarter = async () => {
    const gap = (seconds * 1000) / (ports.length + 1)
    for (let i = 0; i < ports.length; i++) {
      await Bun.sleep(gap)
      const t0 = performance.now()
      instances[i]!.kill('SIGTERM')
      await instances[i]!.exited
      instances[i] = startInstance(ports[i]!)
      await waitFor(`http://127.0.0.1:${ports[i]}/ready`, 60_000)
      restarts.push({ instance: i, down_ms: Math.round(performance.now() - t0) })
    }
  }
  await Promise.all([...Array.from({ length: clients }, (_, n) => client(n)), restarter()])

  const stored = await sql<
    { n: string }[]
  >`select count(*) as n from tasks where id = any(${acknowledged}::uuid[])`
  const lost = acknowledged.length - Number(stored[0]!.n)

  // a session ended through one instance is refused by another on its next request
  const l2 = await fetch(`http://127.0.0.1:${ports[0]}/api/v1/auth/login`, {
    method: 'POST',
    body: new URLSearchParams({ username: name, password: 'Bench-Pass-123!' }),
  })
  const t2 = ((await l2.json()) as { access_token: string }).access_token
  const before = await fetch(`http://127.0.0.1:${ports[2]}/api/v1/users/me`, {
    headers: { authorization: `Bearer ${t2}` },
  })
  await fetch(`http://127.0.0.1:${ports[0]}/api/v1/auth/logout`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t2}` },
  })
  const after = await fetch(`http://127.0.0.1:${ports[1]}/api/v1/users/me`, {
    headers: { authorization: `Bearer ${t2}` },
  })

  console.log(
    `\nThree instances on one PostgreSQL behind HAProxy ${Bun.spawnSync(['haproxy', '-v']).stdout.toString().split('\n')[0]!.split(' ')[2]}, ${clients} clients, ${seconds} s, rolling restart\n`,
  )
  console.log(
    table([
      {
        requests,
        failed: failures.length,
        'writes acknowledged': acknowledged.length,
        'writes lost': lost,
        restarts: restarts.length,
        'restart ms (SIGTERM → ready)': restarts.map((r) => r.down_ms).join(', '),
        'revoked session on another instance': `${before.status} → ${after.status}`,
      },
    ]),
  )
  if (failures.length) console.log('failures:', [...new Set(failures)].slice(0, 10))
  if (failures.length || lost || after.status !== 401 || before.status !== 200) exitCode = 1
} finally {
  haproxy.kill('SIGTERM')
  for (const p of instances) p.kill('SIGTERM')
  await Promise.all([haproxy.exited, ...instances.map((p) => p.exited)])
  await sql.end()
  await pg.drop()
}
process.exit(exitCode)
