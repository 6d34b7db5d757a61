/**
 * The embedded server's caches (principals, project access) on and off (AUTH_CACHE_SIZE=0),
 * alternating runs so the machine's drift hits both alike. Reads only (writes drop the entries
 * they change). Usage: BENCH_SOURCE=1 bun bench/ab-cache.ts [--rounds=3] [--seconds=6]
 */
import { api, type Started, startTaskbase, table, userToken, wrk } from './lib'

const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def
const rounds = Number(arg('rounds', '3'))
const seconds = Number(arg('seconds', '6'))

async function seeded(cacheSize: string) {
  const s: Started = await startTaskbase({ AUTH_CACHE_SIZE: cacheSize })
  const token = await userToken(s.base)
  const project = await api<{ id: string }>(s.base, 'POST', '/projects', { name: 'AB' }, token)
  let taskId = ''
  for (let i = 0; i < 50; i++)
    taskId = (
      await api<{ id: string }>(s.base, 'POST', `/projects/${project.id}/tasks`, { title: `t${i}` }, token)
    ).id
  const paths = {
    'GET /users/me': '/api/v1/users/me',
    'GET /projects/{id}/tasks?page_size=20': `/api/v1/projects/${project.id}/tasks?page_size=20`,
    'GET /tasks/{id}': `/api/v1/tasks/${taskId}`,
  }
  return { s, token, paths }
}

const servers = { on: await seeded('10000'), off: await seeded('0') }
const results: Record<string, Record<'on' | 'off', number[]>> = {}
const p99s: Record<string, Record<'on' | 'off', number[]>> = {}
try {
  for (let r = 0; r < rounds; r++)
    for (const mode of ['on', 'off'] as const) {
      const { s, token, paths } = servers[mode]
      for (const [name, path] of Object.entries(paths)) {
        const run = await wrk({
          url: s.base + path,
          connections: 64,
          seconds,
          method: 'GET',
          headers: { authorization: `Bearer ${token}` },
        })
        results[name] ??= { on: [], off: [] }
        p99s[name] ??= { on: [], off: [] }
        results[name][mode].push(run.rps)
        p99s[name][mode].push(run.p99)
      }
    }
} finally {
  await Promise.all(Object.values(servers).map(({ s }) => s.stop()))
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(
  table(
    Object.entries(results).map(([name, r]) => ({
      endpoint: name,
      'cache on req/s': Math.round(median(r.on)),
      'p99 ms': median(p99s[name]!.on),
      'cache off req/s': Math.round(median(r.off)),
      'off p99 ms': median(p99s[name]!.off),
      gain: `${Math.round((median(r.on) / median(r.off) - 1) * 100)} %`,
    })),
  ),
)
