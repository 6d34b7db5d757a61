import { expect, test } from 'bun:test'
import { collectAfterStart, GcPacer } from '../../src/lib/gc-pacing'

test('the pacer collects once per `everyBytes` that passed, and counts again from zero', () => {
  let runs = 0
  const p = new GcPacer(100, () => runs++)
  expect([p.add(60), p.add(39), p.add(1), p.add(99), p.add(250)]).toEqual([false, false, true, false, true])
  expect(runs).toBe(2)
  expect(new GcPacer(1).add(1)).toBe(true) // the default collector: Bun.gc(true)
})

test('the start-up collection runs once, after its delay', async () => {
  let runs = 0
  collectAfterStart(10, () => runs++)
  expect(runs).toBe(0)
  await Bun.sleep(40)
  expect(runs).toBe(1)
})
