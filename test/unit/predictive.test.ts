import assert from 'node:assert/strict'
import { test } from 'node:test'
import { combineWithReactive, forecastLoad, predictReplicas, type LoadSample } from '../../src/control/autoscaler/predictive.js'

const DAY = 86_400_000
const MINUTE = 60_000
const START = 1_700_006_400_000 // a midnight UTC

function sampled (from: number, to: number, every: number, load: (at: number) => number): LoadSample[] {
  const samples: LoadSample[] = []
  for (let at = from; at <= to; at += every) samples.push({ at, load: load(at) })
  return samples
}

test('a flat load forecasts flat', () => {
  const now = START + 2 * 3_600_000
  const samples = sampled(START, now, MINUTE, () => 200)
  const p = predictReplicas({ samples, now, leadSeconds: 120, capacityPerReplica: 50 })
  assert.ok(p !== undefined)
  assert.ok(Math.abs(p.forecast.load - 200) < 1e-6, `forecast ${p.forecast.load}`)
  assert.equal(p.replicas, 4)
})

test('a linear ramp is forecast ahead by the lead time', () => {
  const now = START + 3_600_000
  const ramp = (at: number) => 10 + 0.1 * (at - START) / 1000 // +0.1 req/s every second
  const samples = sampled(START, now, MINUTE, ramp)
  const forecast = forecastLoad(samples, { now, leadSeconds: 300 })
  assert.ok(forecast !== undefined)
  assert.equal(forecast.seasonal, false)
  assert.ok(Math.abs(forecast.load - ramp(now + 300_000)) < 1e-6, `forecast ${forecast.load}, expected ${ramp(now + 300_000)}`)
  const replicas = predictReplicas({ samples, now, leadSeconds: 300, capacityPerReplica: 30 })?.replicas
  assert.equal(replicas, Math.ceil(ramp(now + 300_000) / 30))
  assert.ok((replicas ?? 0) > Math.ceil(ramp(now) / 30), 'more replicas than the current load needs')
})

test('a daily sine pattern with two days of history is anticipated', () => {
  const daily = (at: number) => 100 + 50 * Math.sin(2 * Math.PI * (at - START) / DAY)
  const now = START + 2 * DAY // load is at its mean and rising; the peak is 6 h ahead
  const samples = sampled(START, now - 5 * MINUTE, 5 * MINUTE, daily)
  const lead = 6 * 3600
  const forecast = forecastLoad(samples, { now, leadSeconds: lead })
  assert.ok(forecast !== undefined)
  assert.equal(forecast.seasonal, true)
  assert.ok(Math.abs(forecast.load - 150) < 5, `forecast ${forecast.load}, the peak is 150`)
  // Without the daily profile (less than a day recorded) the same moment is not foreseen.
  const lastDayOnly = forecastLoad(samples.filter((s) => s.at > now - 20 * 3_600_000), { now, leadSeconds: lead })
  assert.ok(lastDayOnly !== undefined && Math.abs(lastDayOnly.load - 150) > 25, `trend-only forecast ${lastDayOnly?.load}`)
})

test('the forecast never goes negative and needs at least one sample', () => {
  const now = START + 3_600_000
  const falling = sampled(START, now, MINUTE, (at) => 100 - 0.05 * (at - START) / 1000)
  assert.equal(forecastLoad(falling, { now, leadSeconds: 3600 })?.load, 0)
  assert.equal(forecastLoad([], { now, leadSeconds: 60 }), undefined)
  assert.equal(predictReplicas({ samples: [], now, leadSeconds: 60, capacityPerReplica: 10 }), undefined)
})

test('predictive and reactive recommendations combine by max', () => {
  assert.equal(combineWithReactive(3, 7), 7)
  assert.equal(combineWithReactive(9, 7), 9)
  assert.equal(combineWithReactive(4, undefined), 4)
})
