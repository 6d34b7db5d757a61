/**
 * Attachments (issue 12), on the server from `startTaskbase` (the binary, or the source with
 * BENCH_SOURCE=1), both databases:
 * - crash: 20 concurrent 10 MiB uploads, SIGKILL while they stream, restart: no partial file under
 *   a real name, a row for every upload answered 201 and for no other;
 * - rss: rounds of 20 concurrent 10 MiB uploads; the server's RSS after each round;
 * - download: a 10 MiB file over loopback with wrk (MiB/s), and 1 KiB ranges of a 200 MiB file.
 *
 * Usage: bun bench/uploads.ts [--db=both|postgres|embedded] [--only=crash,rss,download] [--rounds=5]
 *        [--storage=disk|s3] (s3: a real S3-protocol server, s3rver under node, on loopback) [--check]
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startS3Server } from '../tests/helpers/s3-server'
import { api, freshPostgres, type Started, startTaskbase, table, userToken, wrk } from './lib'

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=')
    return [k!, v ?? 'true']
  }),
)
const dbs = args.db === 'postgres' || args.db === 'embedded' ? [args.db] : ['postgres', 'embedded']
const only = new Set((args.only ?? 'crash,rss,download').split(','))
const problems: string[] = []
const MiB = 1024 * 1024
const ROUNDS = Number(args.rounds ?? 5)
const S3 = args.storage === 's3'

async function setup(s: Started) {
  const token = await userToken(s.base)
  const project = await api(s.base, 'POST', '/projects', { name: `p${Date.now()}` }, token)
  const task = await api(s.base, 'POST', `/projects/${project.id}/tasks`, { title: 't' }, token)
  return { token, taskId: task.id as string }
}

/** Text content (allowed type) that differs per index, so every upload has its own SHA-256. */
const content = (i: number, size: number) => {
  const b = Buffer.alloc(size, 0x61 + (i % 26))
  b.write(`upload ${i}\n`)
  return b
}
const sha = (b: Uint8Array) => new Bun.CryptoHasher('sha256').update(b).digest('hex')

/** A multipart upload whose body is sent in 64 KiB chunks, `delayMs` apart. */
async function slowUpload(base: string, token: string, taskId: string, body: Buffer, delayMs: number) {
  const boundary = `b${Math.random().toString(36).slice(2)}`
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\nContent-Type: text/plain\r\n\r\n`,
  )
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const all = Buffer.concat([head, body, tail])
  let offset = 0
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (offset >= all.length) return c.close()
      if (delayMs) await Bun.sleep(delayMs)
      c.enqueue(all.subarray(offset, offset + 64 * 1024))
      offset += 64 * 1024
    },
  })
  const res = await fetch(`${base}/api/v1/tasks/${taskId}/attachments`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(all.length),
    },
    body: stream,
    duplex: 'half',
  })
  return { status: res.status, body: (await res.json().catch(() => null)) as { id: string } | null }
}

const s3Env = (s3: Awaited<ReturnType<typeof startS3Server>>) => ({
  S3_BUCKET: s3.bucket,
  S3_ENDPOINT: s3.endpoint,
  S3_REGION: s3.region,
  S3_ACCESS_KEY_ID: s3.accessKeyId,
  S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
})

const rssOf = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)
  return Number(line?.[1] ?? 0) / 1024
}

async function crash(db: string, env: Record<string, string>) {
  const s3 = S3 ? await startS3Server() : null
  if (s3) env = { ...env, ...s3Env(s3) }
  const dir = mkdtempSync(join(tmpdir(), 'tb-upload-crash-'))
  const dataEnv = { ...env, DATA_DIR: join(dir, 'data') }
  let s = await startTaskbase(dataEnv, dir)
  const { token, taskId } = await setup(s)
  const bodies = Array.from({ length: 20 }, (_, i) => content(i, 10 * MiB))
  const hashes = new Set(bodies.map(sha))
  // half go fast (done before the kill), half trickle (cut by it)
  const answered: string[] = []
  const uploads = bodies.map((b, i) =>
    slowUpload(s.base, token, taskId, b, i % 2 ? 40 : 0).then(
      (r) => {
        if (r.status === 201 && r.body) answered.push(r.body.id)
      },
      () => {},
    ),
  )
  await Bun.sleep(1500)
  s.proc.kill('SIGKILL')
  await s.proc.exited
  await Promise.all(uploads)
  s = await startTaskbase(dataEnv, dir)
  const rows: { id: string; size: number; sha256: string }[] = (
    await api(s.base, 'GET', `/tasks/${taskId}/attachments?page_size=100`, undefined, token)
  ).items
  let objects: string[]
  let partial: string[]
  if (s3) {
    const client = new Bun.S3Client(s3)
    const listed = await client.list({ prefix: 'attachments/', maxKeys: 1000 })
    objects = (listed.contents ?? []).map((o) => o.key)
    partial = []
    for (const key of objects) {
      const bytes = new Uint8Array(await client.file(key).arrayBuffer())
      if (bytes.byteLength !== 10 * MiB || !hashes.has(sha(bytes))) partial.push(key)
    }
  } else {
    const root = join(dir, 'data', 'attachments')
    objects = readdirSync(root, { withFileTypes: true })
      .filter((d) => /^[0-9a-f]{2}$/.test(d.name))
      .flatMap((d) => readdirSync(join(root, d.name)).map((k) => join(root, d.name, k)))
    partial = objects.filter((p) => statSync(p).size !== 10 * MiB || !hashes.has(sha(readFileSync(p))))
  }
  const rowIds = new Set(rows.map((r) => r.id))
  const unanswered = rows.filter((r) => !answered.includes(r.id))
  const lost = answered.filter((id) => !rowIds.has(id))
  await s.stop()
  await s3?.stop()
  const out = {
    db: `${db}${S3 ? ', S3' : ''}`,
    answered: answered.length,
    rows: rows.length,
    'objects (real names)': objects.length,
    'partial objects': partial.length,
    'rows not answered 201': unanswered.length,
    'answered 201 without row': lost.length,
  }
  if (partial.length || lost.length || unanswered.length) problems.push(`crash ${db}: ${JSON.stringify(out)}`)
  return out
}

async function rss(db: string, env: Record<string, string>) {
  const s3 = S3 ? await startS3Server() : null
  if (s3) env = { ...env, ...s3Env(s3) }
  const dir = mkdtempSync(join(tmpdir(), 'tb-upload-rss-'))
  const s = await startTaskbase({ ...env, DATA_DIR: join(dir, 'data'), METRICS_ENABLED: 'true' }, dir)
  const { token, taskId } = await setup(s)
  const bodies = Array.from({ length: 20 }, (_, i) => content(i, 10 * MiB))
  // the JavaScript heap from prom-client's process metrics: what uploads could leave behind
  const heap = async () => {
    const text = await (await fetch(`${s.base}/metrics`)).text()
    return Number(text.match(/^nodejs_heap_size_used_bytes (\S+)/m)?.[1] ?? 0) / MiB
  }
  const heaps: number[] = []
  const before = rssOf(s.proc.pid)
  const after: number[] = []
  let peak = before
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssOf(s.proc.pid))
  }, 20)
  let ok = 0
  const t0 = performance.now()
  for (let round = 0; round < ROUNDS; round++) {
    const results = await Promise.all(bodies.map((b) => slowUpload(s.base, token, taskId, b, 0)))
    ok += results.filter((r) => r.status === 201).length
    after.push(rssOf(s.proc.pid))
    heaps.push(await heap())
  }
  const seconds = (performance.now() - t0) / 1000
  clearInterval(sampler)
  await s.stop()
  await s3?.stop()
  if (ok !== 20 * ROUNDS) problems.push(`rss ${db}: ${ok}/${20 * ROUNDS} uploads answered 201`)
  return {
    db: `${db}${S3 ? ', S3' : ''}`,
    uploads: ok,
    'MiB/s in': Math.round((ok * 10) / seconds),
    'RSS before (MiB)': Math.round(before),
    'peak (MiB)': Math.round(peak),
    [`RSS after rounds 1..${ROUNDS} (MiB)`]: after.map((x) => Math.round(x)).join(', '),
    'JS heap used after each round (MiB)': heaps.map((x) => Math.round(x)).join(', '),
  }
}

async function download(db: string, env: Record<string, string>) {
  const s3 = S3 ? await startS3Server() : null
  if (s3) env = { ...env, ...s3Env(s3) }
  const dir = mkdtempSync(join(tmpdir(), 'tb-upload-dl-'))
  const s = await startTaskbase(
    { ...env, DATA_DIR: join(dir, 'data'), MAX_UPLOAD_BYTES: String(256 * MiB) },
    dir,
  )
  const { token, taskId } = await setup(s)
  const small = await slowUpload(s.base, token, taskId, content(1, 10 * MiB), 0)
  const big = await slowUpload(s.base, token, taskId, content(2, 200 * MiB), 0)
  const auth = { authorization: `Bearer ${token}` }
  const url = (id: string) => `${s.base}/api/v1/attachments/${id}/content`
  const whole = await wrk({ url: url(small.body!.id), connections: 4, seconds: 10, headers: auth })
  const range = await wrk({
    url: url(big.body!.id),
    connections: 64,
    seconds: 10,
    headers: { ...auth, range: 'bytes=104857600-104858623' },
  })
  const meRate = await wrk({ url: `${s.base}/api/v1/users/me`, connections: 64, seconds: 10, headers: auth })
  await s.stop()
  await s3?.stop()
  const mibs = (whole.rps * 10) | 0
  if (mibs < 500 && !S3) problems.push(`download ${db}: ${mibs} MiB/s < 500`)
  return {
    db: `${db}${S3 ? ', S3' : ''}`,
    '10 MiB whole: req/s': Math.round(whole.rps),
    'MiB/s': mibs,
    'p99 ms': whole.p99,
    '1 KiB range of 200 MiB: req/s': Math.round(range.rps),
    'range p99 ms': range.p99,
    '/users/me req/s (same server)': Math.round(meRate.rps),
    errors: whole.errors + range.errors,
  }
}

const results: Record<string, Record<string, string | number>[]> = { crash: [], rss: [], download: [] }
for (const db of dbs) {
  const pg = db === 'postgres' ? await freshPostgres() : null
  const env = pg ? { DATABASE_URL: pg.url } : { DATABASE_URL: '' }
  try {
    if (only.has('crash')) results.crash!.push(await crash(db, env))
    if (only.has('rss')) results.rss!.push(await rss(db, env))
    if (only.has('download')) results.download!.push(await download(db, env))
  } finally {
    await pg?.drop()
  }
}
for (const [name, rows] of Object.entries(results))
  if (rows.length) console.log(`\n### ${name}\n\n${table(rows)}`)
if (problems.length) {
  console.log(`\nproblems:\n${problems.map((p) => `- ${p}`).join('\n')}`)
  if (args.check) process.exit(1)
}
