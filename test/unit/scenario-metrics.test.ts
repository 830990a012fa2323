import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  calibrateCapacity, capacityLags, capacityPoints, carryForward, directionChanges, idealInstances, instanceSeconds, sloViolationSeconds,
} from '../../src/lab/scenario-metrics.js'

test('calibration: readings near the target each say rate × target / metric, and the median wins', () => {
  // Below the target, near it and above it; low and saturated readings say nothing here.
  const points = [
    { perInstanceRate: 10, metric: 0.1 }, { perInstanceRate: 500, metric: 1 },
    { perInstanceRate: 150, metric: 0.3 }, { perInstanceRate: 200, metric: 0.5 }, { perInstanceRate: 280, metric: 0.8 }, { perInstanceRate: 300, metric: 0.6 },
  ]
  // Estimates: 150·0.5/0.3 = 250, 200, 175, 250 → median 225.
  assert.deepEqual(calibrateCapacity(points, 0.5), { capacityPerInstance: 225, method: 'near-target', points: 4 })
})

test('calibration: with fewer than 3 readings near the target, a line through the unsaturated ones is solved for it', () => {
  // ELU = 0.05 + 0.002 × rate over light load: the target 0.5 at (0.5 − 0.05) / 0.002 = 225 req/s.
  const light = [20, 40, 60, 80].map((r) => ({ perInstanceRate: r, metric: 0.05 + 0.002 * r }))
  const c = calibrateCapacity([...light, { perInstanceRate: 400, metric: 1 }], 0.5)
  assert.equal(c?.method, 'linear-fit')
  assert.ok(Math.abs((c?.capacityPerInstance ?? 0) - 225) < 1e-9)
  assert.equal(c?.points, 4, 'the saturated reading is left out')
})

test('calibration: too few points, no spread in load or a metric falling with load give no answer', () => {
  assert.equal(calibrateCapacity([{ perInstanceRate: 20, metric: 0.1 }, { perInstanceRate: 40, metric: 0.2 }], 0.5), undefined)
  assert.equal(calibrateCapacity([1, 2, 3].map(() => ({ perInstanceRate: 50, metric: 0.1 })), 0.5), undefined, 'no spread in load')
  assert.equal(calibrateCapacity([10, 20, 30].map((r) => ({ perInstanceRate: r, metric: 0.24 - r / 200 })), 0.5), undefined, 'a metric falling with load')
})

test('capacity points: answers over the whole seconds of each reading\'s interval, per ready instance; changed fleets skipped', () => {
  const start = 1_000_000
  const achieved = [100, 100, 200, 200, 300, 300, 300, 300]
  const points = capacityPoints([
    { at: start + 0, ready: 1, metric: 0.1 },
    { at: start + 2000, ready: 1, metric: 0.4 }, // seconds 0–1: 100/s on one instance
    { at: start + 4000, ready: 2, metric: 0.3 }, // ready changed: skipped
    { at: start + 6500, ready: 2, metric: 0.6 }, // seconds 4–5: 300/s on two
    { at: start + 9000, ready: 2, metric: 0.6 }, // past the run: skipped
    { at: start + 7900, ready: 2, metric: undefined },
  ], start, achieved)
  assert.deepEqual(points, [{ perInstanceRate: 100, metric: 0.4 }, { perInstanceRate: 150, metric: 0.6 }])
})

test('ideal instances: ceil(rate / capacity) within [min, max]', () => {
  assert.deepEqual(idealInstances([0, 50, 100, 101, 300, 1000], 100, 1, 6), [1, 1, 1, 2, 3, 6])
  assert.deepEqual(idealInstances([0], 100, 2, 6), [2])
})

test('capacity lag: seconds from when the load first needs its peak until that many are ready, and from the fall until the surplus is gone', () => {
  const ideal = [1, 1, 3, 3, 3, 3, 3, 1, 1, 1, 1]
  const ready = [1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 1]
  const running = [1, 1, 2, 3, 3, 3, 3, 3, 3, 2, 1]
  const lags = capacityLags([{ at: 2, direction: 'up' }, { at: 7, direction: 'down' }], ideal, ready, running)
  assert.deepEqual(lags, [
    { at: 2, direction: 'up', needed: 3, seconds: 3 },
    { at: 7, direction: 'down', needed: 1, seconds: 3 },
  ])
})

test('capacity lag: a ramp is measured from the second its peak is first needed; a change never met is null', () => {
  const ideal = [1, 1, 2, 3, 4, 4, 1, 1]
  const ready = [1, 1, 1, 2, 3, 4, 4, 4]
  const lags = capacityLags([{ at: 1, direction: 'up' }, { at: 6, direction: 'down' }], ideal, ready, ready)
  assert.deepEqual(lags.map((l) => [l.needed, l.seconds]), [[4, 1], [1, null]])
})

test('SLO seconds: p99 above the objective or failures above 0.1 % of the second\'s requests; idle seconds never count', () => {
  const seconds = [
    { offered: 100, p99Ms: 40, failed: 0 },
    { offered: 100, p99Ms: 140, failed: 0 },
    { offered: 2000, p99Ms: 20, failed: 2 }, // exactly 0.1 %: allowed
    { offered: 2000, p99Ms: 20, failed: 3 },
    { offered: 0, p99Ms: 0, failed: 0 },
  ]
  assert.equal(sloViolationSeconds(seconds), 2)
  assert.equal(sloViolationSeconds(seconds, { p99Ms: 150, errorRatio: 0.01 }), 0)
})

test('instance-seconds sum the per-second counts', () => {
  assert.equal(instanceSeconds([1, 1, 3, 3, 2]), 10)
  assert.equal(instanceSeconds([]), 0)
})

test('direction changes: a step up and down is 2, flapping counts every reversal, plateaus do not count', () => {
  assert.equal(directionChanges([1, 1, 1]), 0)
  assert.equal(directionChanges([1, 2, 3, 3, 3, 1]), 2)
  assert.equal(directionChanges([1, 2, 4, 3, 3, 1]), 2, 'an overshoot corrected while the load falls is one reversal')
  assert.equal(directionChanges([1, 3, 2, 3, 2, 1]), 4)
})

test('carry forward fills missing readings with the last known one', () => {
  assert.deepEqual(carryForward([undefined, 2, undefined, 3, undefined]), [2, 2, 2, 3, 3])
  assert.deepEqual(carryForward([undefined]), [])
})
