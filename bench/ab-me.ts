import { resolve } from 'node:path'
import { freshPostgres, startTaskbase, table, userToken, wrk } from './lib'

const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def
const [binA, binB] = process.argv
  .slice(2)
  .filter((a) => !a.startsWith('--'))
  .map((p) => resolve(p))
if (!binA || !binB) throw new Error('usage: bun bench/ab-me.ts <binary A> <binary B>')
const rounds = Number(arg('rounds', '3'))
const seconds = Number(arg('seconds', '10'))
const connections = Number(arg('connections', '64'))
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const envOf = (name: string) =>
  Object.fromEntries(
    arg(name, '')
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  )

async function start(binary: string, extra: Record<string, string>) {
  const pg = await freshPostgres()
  const server = await startTaskbase({ DATABASE_URL: pg.url, DB_POOL_MAX: '16', ...extra }, undefined, binary)
  return { ...server, token: await userToken(server.base), pg }
}

const a = await start(binA, envOf('a-env'))
const b = await start(binB, envOf('b-env'))
const runs: Record<'A' | 'B', Awaited<ReturnType<typeof wrk>>[]> = { A: [], B: [] }
try {
  for (let i = 0; i < rounds; i++)
    for (const [name, s] of [
      ['A', a],
      ['B', b],
    ] as const)
      runs[name].push(
        await wrk({
          url: `${s.base}/api/v1/users/me`,
          connections,
          seconds,
          headers: { authorization: `Bearer ${s.token}` },
        }),
      )
} finally {
  for (const s of [a, b]) {
    await s.stop()
    await s.pg.drop()
  }
}
console.log(
  table(
    (['A', 'B'] as const).map((name) => ({
      build: `${name}: ${name === 'A' ? binA : binB}`,
      'req/s': Math.round(median(runs[name].map((r) => r.rps))),
      'p50 ms': median(runs[name].map((r) => r.p50)),
      'p99 ms': median(runs[name].map((r) => r.p99)),
      errors: runs[name].reduce((n, r) => n + r.errors, 0),
    })),
  ),
)
