/**
 * Load benchmark: Taskbase against the machine's ceiling (bare Bun.serve running the same SQL
 * through postgres.js, bench/bare.ts), with wrk.
 * Usage: bun bench/run.ts [--db=postgres|pglite|both] [--seconds=10] [--connections=64] [--sweep]
 * Needs wrk (apt-get install wrk) and, for --db=postgres, a PostgreSQL on 127.0.0.1:5432.
 */
import { join } from 'node:path'
import {
  api,
  freePort,
  freshPostgres,
  ROOT,
  type Started,
  startTaskbase,
  table,
  userToken,
  waitFor,
  wrk,
} from './lib'

const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ??
  (process.argv.includes(`--${name}`) ? 'true' : def)
const dbs = arg('db', 'both') === 'both' ? ['postgres', 'pglite'] : [arg('db', 'postgres')]
const seconds = Number(arg('seconds', '10'))
const connections = Number(arg('connections', '64'))
const sweep = arg('sweep', 'false') === 'true'
/** Ours and bare run alternately this many times; the table shows medians (the box is noisy). */
const rounds = Number(arg('rounds', '3'))

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
type Run = Awaited<ReturnType<typeof wrk>>
const med = (runs: Run[]): Run => ({
  rps: median(runs.map((r) => r.rps)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
  errors: runs.reduce((n, r) => n + r.errors, 0),
  requests: runs.reduce((n, r) => n + r.requests, 0),
})

interface Scenario {
  name: string
  method: string
  path: string
  body?: string
}

async function seed(base: string) {
  const token = await userToken(base)
  const project = await api<{ id: string }>(base, 'POST', '/projects', { name: `Bench ${Date.now()}` }, token)
  let taskId = ''
  for (let i = 0; i < 200; i += 10) {
    const created = await Promise.all(
      Array.from({ length: 10 }, (_, j) =>
        api<{ id: string }>(
          base,
          'POST',
          `/projects/${project.id}/tasks`,
          { title: `Seed task ${i + j}`, labels: ['bench'] },
          token,
        ),
      ),
    )
    taskId ||= created[0]!.id
  }
  const scenarios: Scenario[] = [
    { name: 'GET /users/me', method: 'GET', path: '/api/v1/users/me' },
    {
      name: 'GET /projects/{id}/tasks?page_size=20',
      method: 'GET',
      path: `/api/v1/projects/${project.id}/tasks?page_size=20`,
    },
    { name: 'GET /tasks/{id}', method: 'GET', path: `/api/v1/tasks/${taskId}` },
    {
      name: 'POST /projects/{id}/tasks',
      method: 'POST',
      path: `/api/v1/projects/${project.id}/tasks`,
      body: '{"title":"Load test task","priority":"high"}',
    },
    {
      name: 'PATCH /tasks/{id}',
      method: 'PATCH',
      path: `/api/v1/tasks/${taskId}`,
      body: '{"description":"patched under load"}',
    },
  ]
  return { token, scenarios }
}

async function load(base: string, token: string, s: Scenario, c = connections, secs = seconds) {
  await wrk({
    url: base + s.path,
    connections: Math.min(c, 16),
    seconds: 1,
    method: s.method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: s.body,
  }) // warm-up
  return wrk({
    url: base + s.path,
    connections: c,
    seconds: secs,
    method: s.method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: s.body,
  })
}

async function startBare(databaseUrl: string): Promise<Started> {
  const port = freePort()
  const proc = Bun.spawn([process.execPath, join(ROOT, 'bench/bare.ts')], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      SECRET_KEY: 'bench-secret-key-0123456789-abcdefghijkl',
    },
    stdout: 'inherit',
    stderr: 'inherit',
  })
  const base = `http://127.0.0.1:${port}`
  await waitFor(`${base}/health`)
  return {
    proc,
    base,
    stop: async () => {
      proc.kill('SIGTERM')
      await proc.exited
    },
  }
}

const rows: Record<string, string | number>[] = []
const sweepRows: Record<string, string | number>[] = []
for (const db of dbs) {
  const pg = db === 'postgres' ? await freshPostgres() : null
  const env: Record<string, string> = pg ? { DATABASE_URL: pg.url, DB_POOL_MAX: '16' } : { DATABASE_URL: '' }
  const app = await startTaskbase(env)
  try {
    const { token, scenarios } = await seed(app.base)
    const bare = pg ? await startBare(pg.url) : null
    try {
      for (const s of scenarios) {
        const oursRuns: Run[] = []
        const bareRuns: Run[] = []
        for (let r = 0; r < (bare ? rounds : 1); r++) {
          oursRuns.push(await load(app.base, token, s))
          if (bare) bareRuns.push(await load(bare.base, token, s))
        }
        const ours = med(oursRuns)
        const ceiling = bare ? med(bareRuns) : null
        rows.push({
          endpoint: s.name,
          db,
          'req/s': Math.round(ours.rps),
          'p50 ms': ours.p50,
          'p99 ms': ours.p99,
          errors: ours.errors,
          'bare req/s': ceiling ? Math.round(ceiling.rps) : '—',
          'bare p99 ms': ceiling ? ceiling.p99 : '—',
          'vs bare': ceiling ? `${Math.round((100 * ours.rps) / ceiling.rps)} %` : '—',
        })
        console.log(JSON.stringify(rows.at(-1)))
      }
      if (sweep) {
        const s = scenarios[2]!
        for (const c of [1, 16, 64, 256, 1024]) {
          const r = await load(app.base, token, s, c, 5)
          sweepRows.push({
            db,
            connections: c,
            'req/s': Math.round(r.rps),
            'p99 ms': r.p99,
            errors: r.errors,
          })
          console.log(JSON.stringify(sweepRows.at(-1)))
        }
      }
    } finally {
      await bare?.stop()
    }
  } finally {
    await app.stop()
    await pg?.drop()
  }
}
console.log(
  `\nwrk, ${connections} connections, ${seconds} s per run, ${navigator.hardwareConcurrency} cores\n`,
)
console.log(table(rows))
if (sweepRows.length) console.log(`\nGET /tasks/{id} by concurrency (5 s each)\n\n${table(sweepRows)}`)
