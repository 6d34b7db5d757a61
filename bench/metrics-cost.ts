/**
 * CPU per recorded request: one metrics.observe (counter + histogram with route labels), as the
 * http plugin does for every answer. Compare with the CPU a request costs (bench/run.ts).
 *   bun bench/metrics-cost.ts
 */
import { createMetrics } from '../src/lib/metrics'

const metrics = createMetrics()
const routes = ['/api/v1/users/me', '/api/v1/tasks/:id', '/api/v1/projects/:id/tasks', '/health']
const N = 1_000_000
for (let i = 0; i < 10_000; i++) metrics.observe('GET', routes[i % 4]!, 200, 0.005)
const cpu0 = process.cpuUsage()
for (let i = 0; i < N; i++) metrics.observe('GET', routes[i % 4]!, i % 10 ? 200 : 404, (i % 100) / 1000)
const cpu = process.cpuUsage(cpu0)
const perObserve = (cpu.user + cpu.system) / N
const scrape0 = performance.now()
const text = await metrics.text()
console.log(
  JSON.stringify({
    'CPU µs per recorded request': Number(perObserve.toFixed(3)),
    'scrape ms': Number((performance.now() - scrape0).toFixed(1)),
    'scrape bytes': text.length,
  }),
)
