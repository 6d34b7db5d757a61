/**
 * Durability of the embedded database: create tasks in a concurrent burst, SIGKILL the server
 * mid-burst, restart it on the same DATA_DIR and check that every acknowledged task (201) is there.
 * Usage: bun bench/durability.ts [rounds=3]   (exit 1 if any acknowledged task is lost)
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { api, BENCH_PASSWORD, startTaskbase } from './lib'

const rounds = Number(process.argv[2] ?? 3)
const dir = mkdtempSync(join(tmpdir(), 'tb-durability-'))
const env = { DATA_DIR: join(dir, 'data'), DATABASE_URL: '' }
const name = `dur${Date.now()}`
let lost = 0
let acknowledgedTotal = 0

let server = await startTaskbase(env, dir)
await api(server.base, 'POST', '/auth/register', {
  email: `${name}@example.com`,
  username: name,
  password: BENCH_PASSWORD,
})
const login = async () =>
  (
    await api<{ access_token: string }>(server.base, 'POST', '/auth/login', {
      username: name,
      password: BENCH_PASSWORD,
    })
  ).access_token
let token = await login()
const project = await api<{ id: string }>(
  server.base,
  'POST',
  '/projects',
  { name: `Durability ${name}` },
  token,
)
const acknowledged = new Set<string>()

for (let round = 1; round <= rounds; round++) {
  let stop = false
  const worker = async (w: number) => {
    for (let i = 0; !stop; i++) {
      try {
        const res = await fetch(`${server.base}/api/v1/projects/${project.id}/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ title: `r${round} w${w} #${i}` }),
        })
        if (res.status === 201) acknowledged.add(((await res.json()) as { id: string }).id)
      } catch {
        return // connection cut by the kill
      }
    }
  }
  const workers = Array.from({ length: 16 }, (_, w) => worker(w))
  await Bun.sleep(800 + Math.random() * 700)
  server.proc.kill('SIGKILL')
  stop = true
  await server.proc.exited
  await Promise.all(workers)

  server = await startTaskbase(env, dir)
  token = await login()
  const present = new Set<string>()
  for (let page = 1; ; page++) {
    const res = await api<{ items: { id: string }[]; pages: number }>(
      server.base,
      'GET',
      `/projects/${project.id}/tasks?page=${page}&page_size=100`,
      undefined,
      token,
    )
    for (const t of res.items) present.add(t.id)
    if (page >= res.pages) break
  }
  const missing = [...acknowledged].filter((id) => !present.has(id))
  lost += missing.length
  acknowledgedTotal = acknowledged.size
  console.log(
    `round ${round}: acknowledged ${acknowledged.size} tasks so far, ${present.size} present after SIGKILL + restart, lost ${missing.length}`,
  )
}
await server.stop()
console.log(`durability: ${acknowledgedTotal} acknowledged, ${lost} lost over ${rounds} SIGKILLs`)
process.exit(lost === 0 ? 0 : 1)
