/**
 * Task creates on the embedded database, two binaries alternating (the machine's drift hits both).
 * Usage: bun bench/ab-create.ts <binary A> <binary B> [--rounds=3] [--seconds=6]
 */
import { resolve } from 'node:path'
import { api, startTaskbase, table, userToken, wrk } from './lib'

const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def
const bins = process.argv
  .slice(2)
  .filter((a) => !a.startsWith('--'))
  .map((p) => resolve(p))
if (bins.length !== 2) throw new Error('usage: bun bench/ab-create.ts <binary A> <binary B>')
const rounds = Number(arg('rounds', '3'))
const seconds = Number(arg('seconds', '6'))
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const servers = await Promise.all(
  bins.map(async (bin) => {
    const s = await startTaskbase({}, undefined, bin)
    const token = await userToken(s.base)
    const project = await api<{ id: string }>(s.base, 'POST', '/projects', { name: 'AB create' }, token)
    return {
      bin,
      s,
      token,
      url: `${s.base}/api/v1/projects/${project.id}/tasks`,
      runs: [] as number[],
      p99: [] as number[],
    }
  }),
)
try {
  for (let r = 0; r < rounds; r++)
    for (const x of servers) {
      const run = await wrk({
        url: x.url,
        connections: 64,
        seconds,
        method: 'POST',
        headers: { authorization: `Bearer ${x.token}`, 'content-type': 'application/json' },
        body: '{"title":"Load test task","priority":"high"}',
      })
      x.runs.push(run.rps)
      x.p99.push(run.p99)
    }
} finally {
  await Promise.all(servers.map((x) => x.s.stop()))
}
console.log(
  table(
    servers.map((x, i) => ({
      build: `${'AB'[i]}: ${x.bin}`,
      'req/s': Math.round(median(x.runs)),
      'p99 ms': median(x.p99),
    })),
  ),
)
