/**
 * Login cost and isolation: argon2id hash time, login req/s at 8 clients, GET /users/me at 64
 * clients, and GET /users/me p99 while a storm of 200 concurrent logins runs.
 * Usage: bun bench/login-storm.ts [--db=postgres|pglite|both] [--seconds=10]
 * The storm logs in to 100 accounts (two clients each, as many as an account may have checking at
 * once) and TRUST_PROXY is on with every client on its own X-Forwarded-For address, so no throttle
 * cuts the storm short: this measures hashing pressure, not the rate limiter (one account and one
 * address get 429s after 2 and 4 checks in flight, cheap refusals that hash nothing).
 */
import { BENCH_PASSWORD, freshPostgres, startTaskbase, table, userToken, wrk } from './lib'

const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def
const dbs = arg('db', 'both') === 'both' ? ['postgres', 'pglite'] : [arg('db', 'postgres')]
const seconds = Number(arg('seconds', '10'))

const t0 = performance.now()
for (let i = 0; i < 5; i++)
  await Bun.password.hash(`Hash-timing-${i}!`, { algorithm: 'argon2id', memoryCost: 65536, timeCost: 2 })
console.log(`argon2id (m=64 MiB, t=2) hash: ${((performance.now() - t0) / 5).toFixed(0)} ms each (mean of 5)`)

const rows: Record<string, string | number>[] = []
for (const db of dbs) {
  const pg = db === 'postgres' ? await freshPostgres() : null
  const app = await startTaskbase({ DATABASE_URL: pg?.url ?? '', TRUST_PROXY: 'true', DB_POOL_MAX: '16' })
  try {
    const token = await userToken(app.base)
    const stormUser = `storm${Date.now()}`
    const ACCOUNTS = 100
    for (let k = 0; k < ACCOUNTS; k++) {
      const res = await fetch(`${app.base}/api/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `172.16.${k}.1` },
        body: JSON.stringify({
          email: `${stormUser}_${k}@example.com`,
          username: `${stormUser}_${k}`,
          password: BENCH_PASSWORD,
        }),
      })
      if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`)
    }
    const me = () =>
      wrk({
        url: `${app.base}/api/v1/users/me`,
        connections: 64,
        seconds,
        headers: { authorization: `Bearer ${token}` },
      })
    await wrk({
      url: `${app.base}/api/v1/users/me`,
      connections: 16,
      seconds: 1,
      headers: { authorization: `Bearer ${token}` },
    })
    const baseline = await me()

    const loginLua = `request = function()
  local ip = math.random(1, 250) .. "." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
  local user = "${stormUser}_" .. math.random(0, ${ACCOUNTS - 1})
  return wrk.format("POST", nil, { ["content-type"] = "application/x-www-form-urlencoded", ["x-forwarded-for"] = ip }, "username=" .. user .. "&password=${BENCH_PASSWORD}")
end`
    const login8 = await wrk({
      url: `${app.base}/api/v1/auth/login`,
      connections: 8,
      seconds,
      luaRequest: loginLua,
    })

    // the 8 clients' last logins are still queued at the hasher: let them finish first
    await Bun.sleep(2000)
    let stop = false
    let logins = 0
    let failures = 0
    const refusals = new Map<number, number>()
    let firstRefusal = ''
    const stormStart = performance.now()
    const storm = Array.from({ length: 200 }, async (_, i) => {
      let sent = 0
      while (!stop) {
        const res = await fetch(`${app.base}/api/v1/auth/login`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            // a new address per login: the per-address budgets stay out of the way
            'x-forwarded-for': `10.${i}.${sent % 250}.${(sent++ >> 8) % 250}`,
          },
          body: JSON.stringify({ username: `${stormUser}_${i % ACCOUNTS}`, password: BENCH_PASSWORD }),
        }).catch(() => null)
        if (res?.status === 200) logins++
        else {
          failures++
          if (!firstRefusal && res) firstRefusal = `${res.status} ${await res.clone().text()}`
          refusals.set(res?.status ?? 0, (refusals.get(res?.status ?? 0) ?? 0) + 1)
          // as a client should: wait Retry-After (1 s) before trying again
          if (res?.status === 429) await Bun.sleep(1000)
        }
        await res?.arrayBuffer()
      }
    })
    await Bun.sleep(500)
    const underStorm = await me()
    stop = true
    await Promise.all(storm)
    // the logins still queued at the hasher when the measurement ended count too, and their time
    const stormSeconds = (performance.now() - stormStart) / 1000
    rows.push(
      {
        db,
        measure: 'GET /users/me, 64 clients',
        'req/s': Math.round(baseline.rps),
        'p50 ms': baseline.p50,
        'p99 ms': baseline.p99,
        errors: baseline.errors,
      },
      {
        db,
        measure: 'POST /auth/login, 8 clients',
        'req/s': Math.round(login8.rps),
        'p50 ms': login8.p50,
        'p99 ms': login8.p99,
        errors: login8.errors,
      },
      {
        db,
        measure: 'GET /users/me during 200-login storm',
        'req/s': Math.round(underStorm.rps),
        'p50 ms': underStorm.p50,
        'p99 ms': underStorm.p99,
        errors: underStorm.errors,
      },
      {
        db,
        measure: `storm: ${logins} logins ok, ${failures} refused (${[...refusals].map(([st, n]) => `${n}× ${st}`).join(', ')})`,
        'req/s': Math.round(logins / stormSeconds),
        'p50 ms': '',
        'p99 ms': '',
        errors: '',
      },
    )
    if (firstRefusal) console.log(`${db}: first refusal of the storm: ${firstRefusal}`)
    console.log(
      `${db}: /users/me p99 ${baseline.p99.toFixed(2)} ms alone, ${underStorm.p99.toFixed(2)} ms under the storm (${(underStorm.p99 / baseline.p99).toFixed(2)}x)`,
    )
  } finally {
    await app.stop()
    await pg?.drop()
  }
}
console.log(`\n${table(rows)}`)
