import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ManualClock, systemClock } from '../../src/control/clock.js'

test('ManualClock: sleeps resolve only when advanced past their wake time, in order, each seeing its own time', async () => {
  const clock = new ManualClock(1000)
  const woke: Array<[string, number]> = []
  void clock.sleep(500).then(() => woke.push(['b', clock.now()]))
  void clock.sleep(200).then(() => woke.push(['a', clock.now()]))
  await clock.advance(199)
  assert.deepEqual(woke, [])
  assert.equal(clock.pendingSleeps, 2)
  await clock.advance(1000)
  assert.deepEqual(woke, [['a', 1200], ['b', 1500]])
  assert.equal(clock.now(), 2199)
  assert.equal(clock.pendingSleeps, 0)
})

test('ManualClock: a loop that sleeps again is woken once per period within one advance', async () => {
  const clock = new ManualClock()
  const ticks: number[] = []
  let running = true
  const loop = (async () => { while (running) { await clock.sleep(15_000); ticks.push(clock.now()) } })()
  await clock.advance(60_000)
  assert.deepEqual(ticks, [15_000, 30_000, 45_000, 60_000])
  running = false
  await clock.advance(15_000)
  await loop
})

test('systemClock sleeps for real time', async () => {
  const start = systemClock.now()
  await systemClock.sleep(20)
  assert.ok(systemClock.now() - start >= 15)
})
