/**
 * Webhooks end to end, against real receivers on loopback (Bun.serve in this process), every
 * request verified with the `standardwebhooks` library:
 *  - throughput: deliveries/s to a fast receiver; p50/p99 from the change's commit to the receiver
 *  - durability: SIGKILL during a burst of 500 events to a receiver failing 30 % of requests, then
 *    restart: every event reaches each endpoint, and how often each webhook-id succeeded there
 *  - instances: two instances on one PostgreSQL, each delivery made by one of them
 *  - slow: an endpoint that never answers within the timeout does not delay another endpoint
 *    nor API requests
 * Usage: bun bench/webhooks.ts [--db=both|postgres|embedded] [--only=throughput,durability,instances,slow]
 *        [--check]  (exit 1 on a lost event, a double delivery between instances or a bad
 *        signature; speed is printed, never asserted)
 */
import { Webhook } from 'standardwebhooks'
import { api, freshPostgres, type Started, startTaskbase, table, userToken, wrk } from './lib'

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=')
    return [k!, v ?? 'true']
  }),
)
const dbs = args.db === 'postgres' || args.db === 'embedded' ? [args.db] : ['postgres', 'embedded']
const only = new Set((args.only ?? 'throughput,durability,instances,slow').split(','))
const problems: string[] = []

// ---------- receivers ----------

interface ReceiverOptions {
  /** Share of requests answered 500 (random). */
  failRate?: number
  /** Wait before answering. */
  delayMs?: number
}

/** One receiver server; each path (`/hook/<name>`) is an endpoint with its own secret and counts. */
function startReceiver(opts: ReceiverOptions = {}) {
  const endpoints = new Map<
    string,
    {
      verifier?: Webhook
      successes: Map<string, number>
      /** task id (data.id) → time of the first successful arrival */
      arrivals: Map<string, number>
      requests: number
      failed: number
    }
  >()
  let badSignatures = 0
  const endpoint = (name: string) => {
    let e = endpoints.get(name)
    if (!e) {
      e = { successes: new Map(), arrivals: new Map(), requests: 0, failed: 0 }
      endpoints.set(name, e)
    }
    return e
  }
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    idleTimeout: 60,
    async fetch(req) {
      const at = performance.now()
      const e = endpoint(new URL(req.url).pathname.split('/').pop()!)
      const body = await req.text()
      e.requests++
      try {
        e.verifier?.verify(body, Object.fromEntries(req.headers))
      } catch {
        badSignatures++
      }
      if (opts.delayMs) await Bun.sleep(opts.delayMs)
      if (opts.failRate && Math.random() < opts.failRate) {
        e.failed++
        return new Response('injected failure', { status: 500 })
      }
      const id = req.headers.get('webhook-id') ?? ''
      e.successes.set(id, (e.successes.get(id) ?? 0) + 1)
      const taskId = (JSON.parse(body) as { data?: { id?: string } }).data?.id
      if (taskId && !e.arrivals.has(taskId)) e.arrivals.set(taskId, at)
      return new Response(null, { status: 204 })
    },
  })
  return {
    url: (name: string) => `http://127.0.0.1:${server.port}/hook/${name}`,
    endpoint,
    get badSignatures() {
      return badSignatures
    },
    stop: () => server.stop(true),
  }
}
type Receiver = ReturnType<typeof startReceiver>

async function addWebhook(
  base: string,
  token: string,
  projectId: string,
  receiver: Receiver,
  name: string,
  events = ['task.created'],
) {
  const hook = await api<{ id: string; secret: string }>(
    base,
    'POST',
    `/projects/${projectId}/webhooks`,
    { url: receiver.url(name), events },
    token,
  )
  receiver.endpoint(name).verifier = new Webhook(hook.secret)
  return hook
}

async function until(what: string, ms: number, check: () => boolean | Promise<boolean>) {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await Bun.sleep(20)
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : Number.NaN
}

/** Creates a task; resolves to its id and the send/answer times, or null when not acknowledged. */
async function createTask(base: string, token: string, projectId: string, title: string) {
  const sent = performance.now()
  try {
    const res = await fetch(`${base}/api/v1/projects/${projectId}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ title }),
    })
    if (res.status !== 201) return null
    const { id } = (await res.json()) as { id: string }
    return { id, sent, answered: performance.now() }
  } catch {
    return null // the server was killed under it
  }
}

/** Creates `n` tasks with `concurrency` clients (stops early when `stop()` says so). */
async function burst(
  base: () => string,
  token: () => string,
  projectId: string,
  n: number,
  concurrency: number,
  stop: () => boolean = () => false,
) {
  const acknowledged: string[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n && !stop()) {
        next++
        const t = await createTask(base(), token(), projectId, `burst ${next}`)
        if (t) acknowledged.push(t.id)
        else if (stop()) return
      }
    }),
  )
  return acknowledged
}

async function listTaskIds(base: string, token: string, projectId: string): Promise<Set<string>> {
  const ids = new Set<string>()
  for (let page = 1; ; page++) {
    const res = await api<{ items: { id: string }[]; pages: number }>(
      base,
      'GET',
      `/projects/${projectId}/tasks?page=${page}&page_size=100`,
      undefined,
      token,
    )
    for (const t of res.items) ids.add(t.id)
    if (page >= res.pages) return ids
  }
}

/** A Taskbase on a fresh PostgreSQL database or a fresh embedded data dir. */
async function environment(
  db: string,
): Promise<{ env: Record<string, string>; cwd: string | undefined; drop: () => Promise<void> }> {
  if (db === 'postgres') {
    const pg = await freshPostgres()
    return { env: { DATABASE_URL: pg.url }, cwd: undefined, drop: pg.drop }
  }
  const { mkdtempSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const cwd = mkdtempSync(join(tmpdir(), 'tb-webhooks-'))
  return { env: { DATABASE_URL: '', DATA_DIR: join(cwd, 'data') }, cwd, drop: async () => {} }
}

const BASE_ENV = { WEBHOOK_ALLOW_PRIVATE: 'true', LOG_LEVEL: 'error', METRICS_ENABLED: 'true' }

async function setup(server: Started) {
  const token = await userToken(server.base)
  const project = await api<{ id: string }>(server.base, 'POST', '/projects', { name: 'Hooks' }, token)
  return { token, projectId: project.id }
}

// ---------- scenarios ----------

const results: Record<string, string | number>[] = []

async function throughput(db: string) {
  const e = await environment(db)
  const server = await startTaskbase({ ...BASE_ENV, ...e.env }, e.cwd)
  const receiver = startReceiver()
  try {
    const { token, projectId } = await setup(server)
    for (const endpoints of [1, 8]) {
      const names = Array.from({ length: endpoints }, (_, i) => `tp${endpoints}-${i}`)
      const hooks = []
      for (const name of names) hooks.push(await addWebhook(server.base, token, projectId, receiver, name))
      const tasks = Math.round(4_000 / endpoints)
      const t0 = performance.now()
      await burst(
        () => server.base,
        () => token,
        projectId,
        tasks,
        32,
      )
      const created = performance.now()
      const total = () => names.reduce((s, n) => s + receiver.endpoint(n).successes.size, 0)
      await until(`${tasks * endpoints} deliveries`, 120_000, () => total() >= tasks * endpoints)
      const firstArrival = Math.min(...names.flatMap((n) => [...receiver.endpoint(n).arrivals.values()]))
      const lastArrival = Math.max(...names.flatMap((n) => [...receiver.endpoint(n).arrivals.values()]))
      const drained = names
        .flatMap((n) => [...receiver.endpoint(n).arrivals.values()])
        .filter((t) => t > created)
      const rate = (n: number, ms: number) => Math.round(n / (ms / 1000))
      results.push({
        db,
        scenario: `throughput, ${endpoints} endpoint(s)`,
        figure: `${rate(tasks * endpoints, lastArrival - firstArrival)} deliveries/s`,
        detail: `${tasks * endpoints} deliveries of ${tasks} tasks created by 32 clients in ${Math.round(created - t0)} ms, all delivered ${Math.round(lastArrival - t0)} ms after the first create; after the creates: ${rate(drained.length, lastArrival - created)} deliveries/s`,
      })
      for (const h of hooks) await api(server.base, 'DELETE', `/webhooks/${h.id}`, undefined, token)
    }

    // latency: one endpoint, 50 changes/s, from the API's answer (after the commit) and from the send
    await addWebhook(server.base, token, projectId, receiver, 'latency')
    const timed: { id: string; sent: number; answered: number }[] = []
    const pending: Promise<unknown>[] = []
    for (let i = 0; i < 300; i++) {
      pending.push(createTask(server.base, token, projectId, `latency ${i}`).then((t) => t && timed.push(t)))
      await Bun.sleep(20)
    }
    await Promise.all(pending)
    const arrivals = receiver.endpoint('latency').arrivals
    await until('latency deliveries', 30_000, () => timed.every((t) => arrivals.has(t.id)))
    const fromAnswer = timed.map((t) => arrivals.get(t.id)! - t.answered)
    const fromSend = timed.map((t) => arrivals.get(t.id)! - t.sent)
    results.push({
      db,
      scenario: 'commit → receiver, 50 changes/s',
      figure: `p50 ${pct(fromSend, 50).toFixed(1)} ms, p99 ${pct(fromSend, 99).toFixed(1)} ms`,
      detail: `upper bound (from the request's send); from the API's answer: p50 ${pct(fromAnswer, 50).toFixed(1)} ms, p99 ${pct(fromAnswer, 99).toFixed(1)} ms`,
    })
    if (receiver.badSignatures) problems.push(`${db} throughput: ${receiver.badSignatures} bad signatures`)
  } finally {
    receiver.stop()
    await server.stop()
    await e.drop()
  }
}

async function durability(db: string) {
  const e = await environment(db)
  const env = {
    ...BASE_ENV,
    ...e.env,
    // 13 attempts: a delivery failing all of them at 30 % is a 1.6e-7 chance
    WEBHOOK_RETRY_SCHEDULE: '100ms,200ms,300ms,500ms,500ms,1s,1s,1s,1s,1s,1s,1s',
  }
  let server = await startTaskbase(env, e.cwd)
  const receiver = startReceiver({ failRate: 0.3 })
  try {
    const { token, projectId } = await setup(server)
    const names = ['flaky-a', 'flaky-b']
    for (const name of names) await addWebhook(server.base, token, projectId, receiver, name)
    let killed = false
    const acknowledged: string[] = []
    const killAt = 150 + Math.floor(Math.random() * 150)
    const first = burst(
      () => server.base,
      () => token,
      projectId,
      500,
      16,
      () => killed,
    )
    await until('the kill point', 60_000, () => receiver.endpoint('flaky-a').requests >= killAt)
    server.proc.kill('SIGKILL')
    killed = true
    await server.proc.exited
    acknowledged.push(...(await first))
    const deliveredAtKill = receiver.endpoint('flaky-a').successes.size
    const restartedAt = performance.now()
    server = await startTaskbase(env, e.cwd)
    // the access token is still valid after a restart (same SECRET_KEY); finish the 500
    acknowledged.push(
      ...(await burst(
        () => server.base,
        () => token,
        projectId,
        500 - acknowledged.length,
        16,
      )),
    )
    const present = await listTaskIds(server.base, token, projectId)
    const lostTasks = acknowledged.filter((id) => !present.has(id))
    if (lostTasks.length) problems.push(`${db} durability: ${lostTasks.length} acknowledged tasks lost`)
    const deliveredAll = () =>
      names.every((n) => [...present].every((id) => receiver.endpoint(n).arrivals.has(id)))
    await until('every event at every endpoint', 120_000, deliveredAll).catch((err) =>
      problems.push(`${db} durability: ${String(err)}`),
    )
    const doneIn = performance.now() - restartedAt
    for (const n of names) {
      const ep = receiver.endpoint(n)
      const missing = [...present].filter((id) => !ep.arrivals.has(id)).length
      const twice = [...ep.successes.values()].filter((c) => c > 1).length
      if (missing) problems.push(`${db} durability: ${missing} events never reached ${n}`)
      results.push({
        db,
        scenario: `durability, endpoint ${n}`,
        figure: `${present.size - missing}/${present.size} events delivered, ${twice} webhook-ids succeeded twice`,
        detail: `SIGKILL after ${killAt} requests (${deliveredAtKill} delivered to flaky-a by then); ${ep.requests} requests, ${ep.failed} failed on purpose; all delivered ${Math.round(doneIn)} ms after the restart; ${acknowledged.length} tasks acknowledged, ${present.size} present`,
      })
    }
    if (receiver.badSignatures) problems.push(`${db} durability: ${receiver.badSignatures} bad signatures`)
  } finally {
    receiver.stop()
    await server.stop()
    await e.drop()
  }
}

async function metricCount(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  return Number(text.match(/taskbase_webhook_delivery_attempts_total\{outcome="succeeded"\} (\d+)/)?.[1] ?? 0)
}

async function instances() {
  const e = await environment('postgres')
  const a = await startTaskbase({ ...BASE_ENV, ...e.env })
  const b = await startTaskbase({ ...BASE_ENV, ...e.env })
  const receiver = startReceiver()
  try {
    const { token, projectId } = await setup(a)
    await addWebhook(a.base, token, projectId, receiver, 'shared')
    let i = 0
    const acknowledged = await burst(
      () => (i++ % 2 ? b.base : a.base),
      () => token,
      projectId,
      1_000,
      16,
    )
    const ep = receiver.endpoint('shared')
    await until('1,000 deliveries', 60_000, () => acknowledged.every((id) => ep.arrivals.has(id)))
    await Bun.sleep(1_000) // a double delivery would arrive meanwhile
    const twice = [...ep.successes.values()].filter((c) => c > 1).length
    const [byA, byB] = [await metricCount(a.base), await metricCount(b.base)]
    if (twice || ep.requests !== acknowledged.length)
      problems.push(`instances: ${twice} webhook-ids delivered twice, ${ep.requests} requests`)
    results.push({
      db: 'postgres',
      scenario: 'two instances, one PostgreSQL',
      figure: `${ep.requests} requests for ${acknowledged.length} events, ${twice} delivered twice`,
      detail: `instance A made ${byA} deliveries, B ${byB}`,
    })
  } finally {
    receiver.stop()
    await Promise.all([a.stop(), b.stop()])
    await e.drop()
  }
}

async function slow() {
  const e = await environment('postgres')
  const server = await startTaskbase({ ...BASE_ENV, ...e.env })
  const fast = startReceiver()
  const stuck = startReceiver({ delayMs: 12_000 })
  try {
    const { token, projectId } = await setup(server)
    await addWebhook(server.base, token, projectId, fast, 'fast')
    const phase = async (label: string) => {
      const timed: { id: string; sent: number }[] = []
      const pending: Promise<unknown>[] = []
      const load = wrk({
        url: `${server.base}/api/v1/users/me`,
        connections: 16,
        seconds: 6,
        headers: { authorization: `Bearer ${token}` },
      })
      for (let i = 0; i < 250; i++) {
        pending.push(createTask(server.base, token, projectId, `slow ${i}`).then((t) => t && timed.push(t)))
        await Bun.sleep(20)
      }
      await Promise.all(pending)
      const reads = await load
      const arrivals = fast.endpoint('fast').arrivals
      await until('fast deliveries', 30_000, () => timed.every((t) => arrivals.has(t.id)))
      const lat = timed.map((t) => arrivals.get(t.id)! - t.sent)
      results.push({
        db: 'postgres',
        scenario: `fast endpoint ${label}`,
        figure: `p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms`,
        detail: `GET /users/me meanwhile: ${Math.round(reads.rps)} req/s, p99 ${reads.p99.toFixed(1)} ms, ${reads.errors} errors`,
      })
    }
    await phase('alone')
    await addWebhook(server.base, token, projectId, stuck, 'stuck')
    await phase('beside one answering after 12 s (timeout 10 s)')
    results.push({
      db: 'postgres',
      scenario: 'stuck endpoint',
      figure: `${stuck.endpoint('stuck').requests} requests reached it`,
      detail:
        'WEBHOOK_ENDPOINT_CONCURRENCY (8) in flight at once; the rest wait queued without counting an attempt',
    })
  } finally {
    fast.stop()
    stuck.stop()
    await server.stop()
    await e.drop()
  }
}

for (const db of dbs) {
  if (only.has('throughput')) await throughput(db)
  if (only.has('durability')) await durability(db)
}
if (dbs.includes('postgres') && only.has('instances')) await instances()
if (dbs.includes('postgres') && only.has('slow')) await slow()

console.log(table(results))
if (problems.length) console.log(`\nPROBLEMS:\n- ${problems.join('\n- ')}`)
process.exit(args.check && problems.length ? 1 : 0)
