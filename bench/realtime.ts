/**
 * Realtime at scale (issue 11): on one instance, SOCKETS open WebSockets of which SUBSCRIBED
 * follow one project while a writer creates RATE tasks a second; measures the delay from the
 * write to the last subscriber, authenticated HTTP reads during it against reads alone, and the
 * server's RSS per 1,000 sockets. Then a slow-reader phase: paused clients among readers while
 * large events flow: the paused ones are cut off (4009), the others keep their latency, RSS stays
 * bounded.
 *
 *   bun bench/realtime.ts [--db=postgres|pglite|both] [--sockets=2000] [--subscribed=1000]
 *                         [--rate=50] [--seconds=20]
 * (BENCH_SOURCE=1 runs the source instead of dist/taskbase)
 */
import { api, freshPostgres, startTaskbase, table, userToken, wrk } from './lib'

const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def
const DBS = arg('db', 'postgres') === 'both' ? ['postgres', 'pglite'] : [arg('db', 'postgres')]
const SOCKETS = Number(arg('sockets', '2000'))
const SUBSCRIBED = Number(arg('subscribed', '1000'))
const RATE = Number(arg('rate', '50'))
const SECONDS = Number(arg('seconds', '20'))
/** --reads=0: events without the HTTP reads (the fan-out's own CPU cost). */
const READS = arg('reads', '1') !== '0'

const rssMiB = async (pid: number) => {
  const status = await Bun.file(`/proc/${pid}/status`).text()
  return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024
}
/** CPU seconds a process has used (user + system), from /proc. */
const cpuSeconds = async (pid: number) => {
  const f = (await Bun.file(`/proc/${pid}/stat`).text()).split(') ')[1]!.split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN
}

/** Where each subscriber saw each task's event: task id -> latest arrival (ms, performance.now). */
type Arrivals = Map<string, { last: number; count: number }>

function openSocket(url: string, token: string, project: string | null, arrivals: Arrivals | null) {
  return new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } } as any)
    ws.onerror = () => reject(new Error('socket error'))
    ws.onmessage = (e) => {
      const text = String(e.data)
      if (text.startsWith('{"type":"authenticated"')) {
        if (!project) return resolve(ws)
        ws.send(JSON.stringify({ type: 'subscribe', project_id: project }))
        return
      }
      if (text.startsWith('{"type":"subscribed"')) return resolve(ws)
      if (!arrivals || !text.startsWith('{"type":"event"')) return
      // the task id without parsing the whole message: `"data":{"id":"..."`
      const at = text.indexOf('"data":{"id":"')
      if (at < 0) return
      const id = text.slice(at + 14, at + 50)
      const now = performance.now()
      const a = arrivals.get(id)
      if (a) {
        a.last = now
        a.count++
      } else arrivals.set(id, { last: now, count: 1 })
    }
  })
}

async function inBatches<T>(n: number, size: number, make: (i: number) => Promise<T>) {
  const out: T[] = []
  for (let i = 0; i < n; i += size)
    out.push(...(await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, j) => make(i + j)))))
  return out
}

/** Writes `count` tasks at `rate` a second; returns, per task id, when its POST started and ended. */
async function writeTasks(
  base: string,
  token: string,
  project: string,
  count: number,
  rate: number,
  body = {},
) {
  const sent = new Map<string, { start: number; end: number }>()
  const writes: Promise<void>[] = []
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / rate
    const wait = due - performance.now()
    if (wait > 0) await Bun.sleep(wait)
    const start = performance.now()
    writes.push(
      api<{ id: string }>(
        base,
        'POST',
        `/projects/${project}/tasks`,
        { title: `rt ${i}`, ...body },
        token,
      ).then((t) => {
        sent.set(t.id, { start, end: performance.now() })
      }),
    )
  }
  await Promise.all(writes)
  return sent
}

function latencies(sent: Map<string, { start: number; end: number }>, arrivals: Arrivals, expected: number) {
  const fromStart: number[] = []
  const fromAck: number[] = []
  let missing = 0
  for (const [id, s] of sent) {
    const a = arrivals.get(id)
    if (!a || a.count < expected) {
      missing++
      continue
    }
    fromStart.push(a.last - s.start)
    fromAck.push(Math.max(0, a.last - s.end))
  }
  return { fromStart, fromAck, missing }
}

async function run(db: string) {
  const pg = db === 'postgres' ? await freshPostgres() : null
  const server = await startTaskbase({
    ...(pg ? { DATABASE_URL: pg.url, DB_POOL_MAX: '20' } : {}),
    REALTIME_MAX_CONNECTIONS_PER_USER: String(SOCKETS + 100),
    JOBS_ENABLED: 'false',
  })
  const rows: Record<string, string | number>[] = []
  try {
    const token = await userToken(server.base)
    const project = (await api<{ id: string }>(server.base, 'POST', '/projects', { name: `rt ${db}` }, token))
      .id
    const task = (
      await api<{ id: string }>(server.base, 'POST', `/projects/${project}/tasks`, { title: 'x' }, token)
    ).id
    const wsUrl = `${server.base.replace('http', 'ws')}/api/v1/realtime`
    const read = () =>
      wrk({
        url: `${server.base}/api/v1/tasks/${task}`,
        connections: 64,
        seconds: Math.min(10, SECONDS),
        headers: { authorization: `Bearer ${token}` },
      })
    await Bun.sleep(1000)
    const rss0 = await rssMiB(server.proc.pid)
    const arrivals: Arrivals = new Map()
    const open = () =>
      inBatches(SOCKETS, 100, (i) =>
        openSocket(wsUrl, token, i < SUBSCRIBED ? project : null, i < SUBSCRIBED ? arrivals : null),
      )
    // memory: the sockets open and subscribed, idle
    let sockets = await open()
    await Bun.sleep(2000)
    const rss1 = await rssMiB(server.proc.pid)
    for (const ws of sockets) ws.close()
    await Bun.sleep(1000)
    const readsAlone = await read()

    const t0 = performance.now()
    sockets = await open()
    const openMs = performance.now() - t0
    await Bun.sleep(1000)
    // events at RATE/s for SECONDS, and HTTP reads at the same time
    const cpu0 = [await cpuSeconds(server.proc.pid), process.cpuUsage()] as const
    const w0 = performance.now()
    const [sent, readsDuring] = await Promise.all([
      writeTasks(server.base, token, project, RATE * SECONDS, RATE),
      READS ? Bun.sleep(2000).then(read) : Promise.resolve({ rps: 0 }),
    ])
    const wall = (performance.now() - w0) / 1000
    const serverCpu = ((await cpuSeconds(server.proc.pid)) - cpu0[0]) / wall
    const used = process.cpuUsage(cpu0[1])
    const benchCpu = (used.user + used.system) / 1e6 / wall
    await Bun.sleep(1000)
    const lat = latencies(sent, arrivals, SUBSCRIBED)
    const rss2 = await rssMiB(server.proc.pid)
    rows.push({
      db,
      sockets: SOCKETS,
      subscribed: SUBSCRIBED,
      'events/s': RATE,
      'open all (s)': openMs / 1000,
      'write→last subscriber p50 ms': pct(lat.fromStart, 50),
      'p99 ms': pct(lat.fromStart, 99),
      'max ms': Math.max(...lat.fromStart),
      'after the 201: p99 ms': pct(lat.fromAck, 99),
      'events missing': lat.missing,
      'reads alone req/s': Math.round(readsAlone.rps),
      'reads during req/s': Math.round(readsDuring.rps),
      'reads kept': `${Math.round((100 * readsDuring.rps) / readsAlone.rps)} %`,
      'RSS MiB: idle → sockets open → after events': `${rss0.toFixed(0)} → ${rss1.toFixed(0)} → ${rss2.toFixed(0)}`,
      'MiB per 1,000 sockets': ((rss1 - rss0) * 1000) / SOCKETS,
      'CPU cores: server / bench client': `${serverCpu.toFixed(2)} / ${benchCpu.toFixed(2)}`,
    })
    for (const ws of sockets) ws.close()
    await Bun.sleep(1000)

    // slow readers: 5 paused clients among 100 readers while ~150 KB events flow
    const slowArrivals: Arrivals = new Map()
    const readers = await inBatches(100, 50, () => openSocket(wsUrl, token, project, slowArrivals))
    const paused = await inBatches(5, 5, () => openSocket(wsUrl, token, project, null))
    const codes: number[] = []
    for (const ws of paused) {
      ws.onclose = (e) => codes.push(e.code)
      ;(ws as WebSocket & { pause(): void }).pause()
    }
    const rssBefore = await rssMiB(server.proc.pid)
    let rssPeak = rssBefore
    const sampler = setInterval(async () => {
      rssPeak = Math.max(rssPeak, await rssMiB(server.proc.pid))
    }, 100)
    const big = { description: 'x'.repeat(50_000) }
    const slowSent = await writeTasks(server.base, token, project, 200, 20, big)
    await Bun.sleep(1000)
    clearInterval(sampler)
    for (const ws of paused) (ws as WebSocket & { resume(): void }).resume()
    await Bun.sleep(2000)
    const slow = latencies(slowSent, slowArrivals, 100)
    rows.push({
      db,
      sockets: 105,
      subscribed: '100 reading + 5 paused',
      'events/s': '20 (50 KB each)',
      'write→last subscriber p50 ms': pct(slow.fromStart, 50),
      'p99 ms': pct(slow.fromStart, 99),
      'max ms': Math.max(...slow.fromStart),
      'after the 201: p99 ms': pct(slow.fromAck, 99),
      'events missing': slow.missing,
      'RSS MiB: idle → sockets open → after events': `${rssBefore.toFixed(0)} → peak ${rssPeak.toFixed(0)}`,
      'paused clients closed with 4009': `${codes.filter((c) => c === 4009).length} of 5`,
    })
    for (const ws of readers) ws.close()
  } finally {
    await server.stop()
    await pg?.drop()
  }
  return rows
}

const all: Record<string, string | number>[] = []
for (const db of DBS) all.push(...(await run(db)))
const cols = [...new Set(all.flatMap((r) => Object.keys(r)))]
console.log(table(all.map((r) => Object.fromEntries(cols.map((c) => [c, r[c] ?? '—'])))))
process.exit(0)
