import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEFAULT_SHAPE_SETTINGS, loadShape, ratePerSecond, SHAPE_NAMES } from '../../src/lab/load-shapes.js'

test('step: base before the change, 4× base while it holds, base again after', () => {
  const step = loadShape('step', { base: 50, leadSeconds: 10, holdSeconds: 30, tailSeconds: 20 })
  assert.equal(step.durationSeconds, 60)
  assert.deepEqual([step.rateAt(0), step.rateAt(9.99), step.rateAt(10), step.rateAt(39.99), step.rateAt(40), step.rateAt(59)], [50, 50, 200, 200, 50, 50])
  assert.deepEqual(step.changes, [{ at: 10, direction: 'up' }, { at: 40, direction: 'down' }])
  assert.match(step.description, /50 → 200 req\/s at 10 s for 30 s/)
})

test('spike: a short step that goes 6× by default', () => {
  const spike = loadShape('spike', { base: 40 })
  const { leadSeconds, holdSeconds } = DEFAULT_SHAPE_SETTINGS.spike
  assert.ok(holdSeconds >= 5 && holdSeconds <= 8)
  assert.equal(spike.rateAt(leadSeconds + 1), 240)
  assert.equal(spike.rateAt(leadSeconds + holdSeconds), 40)
  assert.equal(spike.name, 'spike')
})

test('ramp: rises linearly, holds, falls linearly; the changes are where rise and fall start', () => {
  const ramp = loadShape('ramp', { base: 100, factor: 3, leadSeconds: 10, rampSeconds: 20, holdSeconds: 10, tailSeconds: 5 })
  assert.equal(ramp.durationSeconds, 10 + 20 + 10 + 20 + 5)
  assert.equal(ramp.rateAt(5), 100)
  assert.equal(ramp.rateAt(20), 200, 'half-way up')
  assert.equal(ramp.rateAt(35), 300)
  assert.equal(ramp.rateAt(50), 200, 'half-way down')
  assert.equal(ramp.rateAt(62), 100)
  assert.deepEqual(ramp.changes, [{ at: 10, direction: 'up' }, { at: 40, direction: 'down' }])
})

test('wave: a sine from its trough, peak at half a period, one up and one down change per period', () => {
  const wave = loadShape('wave', { base: 100, factor: 4, leadSeconds: 10, holdSeconds: 60, periods: 2, tailSeconds: 0 })
  assert.equal(wave.durationSeconds, 130)
  assert.equal(wave.rateAt(10), 100)
  assert.ok(Math.abs(wave.rateAt(40) - 400) < 1e-9)
  assert.ok(Math.abs(wave.rateAt(70) - 100) < 1e-9)
  assert.ok(Math.abs(wave.rateAt(25) - 250) < 1e-9, 'a quarter period is half-way')
  assert.deepEqual(wave.changes.map((c) => `${c.direction}@${c.at}`), ['up@10', 'down@40', 'up@70', 'down@100'])
})

test('every default shape keeps one run within a few minutes and never offers a negative rate', () => {
  for (const name of SHAPE_NAMES) {
    const shape = loadShape(name)
    assert.ok(shape.durationSeconds >= 60 && shape.durationSeconds <= 240, `${name}: ${shape.durationSeconds} s`)
    for (let t = 0; t < shape.durationSeconds; t += 0.25) assert.ok(shape.rateAt(t) >= 0)
    assert.ok(shape.changes.length >= 2)
  }
})

test('rate per second is the mean of each second, so a step edge inside a second shows as its share', () => {
  const step = loadShape('step', { base: 10, leadSeconds: 2.5, holdSeconds: 1, tailSeconds: 1.5 })
  assert.deepEqual(ratePerSecond(step), [10, 10, 25, 25, 10])
})
