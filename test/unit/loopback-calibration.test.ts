import assert from 'node:assert/strict'
import { test } from 'node:test'
import { calibrateLoopback } from '../../src/lab/loopback-calibration.js'

test('the loopback calibration times round trips to an echo process and leaves no process behind', async () => {
  const result = await calibrateLoopback(3, 100)
  assert.equal(result.rounds, 3)
  assert.equal(result.roundTripsPerRound, 100)
  // A round trip between processes takes at least a microsecond and, even on a loaded machine, less than a second.
  assert.ok(result.roundTripUs >= 1 && result.roundTripUs < 1_000_000, `${result.roundTripUs} µs`)
  assert.match(result.workload, /echo between two processes/)
})
