import { expect, test } from 'bun:test'
import { createMetrics } from '../../src/lib/metrics'

test('webhook delivery attempts are counted by outcome, every outcome present from the start', async () => {
  const m = createMetrics()
  expect(await m.text()).toContain('taskbase_webhook_delivery_attempts_total{outcome="failed"} 0')
  m.webhookOutcome('succeeded')
  m.webhookOutcome('succeeded')
  m.webhookOutcome('retrying')
  const text = await m.text()
  expect(text).toContain('taskbase_webhook_delivery_attempts_total{outcome="succeeded"} 2')
  expect(text).toContain('taskbase_webhook_delivery_attempts_total{outcome="retrying"} 1')
})
