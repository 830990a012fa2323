import assert from 'node:assert/strict'
import { test } from 'node:test'
import { searchCapacity, spread, type Probe, type StepKind } from '../../src/lab/capacity-search.js'

/** A server that sustains exactly `capacity` req/s: every step at or below it passes. */
function thresholdProbe (capacity: number, calls: Array<{ rate: number, kind: StepKind }>, flakyShortAbove = Number.POSITIVE_INFINITY): Probe {
  return async (rate, kind) => {
    calls.push({ rate, kind })
    // Short ramp steps may pass a little above the capacity (too short for the queue to show).
    const pass = rate <= capacity || (kind === 'ramp' && rate <= flakyShortAbove)
    return { rate, kind, pass, reason: pass ? '' : 'p99 over', p99Ms: pass ? 5 : 500, achievedRate: rate, errorRatio: 0 }
  }
}

test('the search converges on a known capacity within its precision, from below', async () => {
  for (const capacity of [37, 412, 1234, 9000]) {
    const calls: Array<{ rate: number, kind: StepKind }> = []
    const result = await searchCapacity(thresholdProbe(capacity, calls), { startRate: 50, growth: 1.6, precision: 0.05, maxRate: 20_000, minRate: 1 })
    assert.ok(result.capacity <= capacity, `capacity ${capacity}: found ${result.capacity}`)
    assert.ok(result.capacity >= capacity / 1.05 - 0.5, `capacity ${capacity}: found ${result.capacity}`)
    assert.ok(result.firstFailing > capacity)
    assert.equal(result.limited, false)
    assert.equal(result.steps.length, calls.length)
    // The capacity reported passed a full-length step.
    assert.ok(result.steps.some((s) => s.kind === 'full' && s.pass && s.rate === result.capacity))
  }
})

test('a rate passed only on a short ramp step is confirmed on a full step before it counts', async () => {
  const calls: Array<{ rate: number, kind: StepKind }> = []
  // Passes short steps up to 600 but sustains only 300.
  const result = await searchCapacity(thresholdProbe(300, calls, 600), { startRate: 100, growth: 2, precision: 0.05, maxRate: 20_000, minRate: 1 })
  assert.ok(result.capacity <= 300 && result.capacity >= 300 / 1.05 - 0.5, `found ${result.capacity}`)
})

test('a short ramp step that failed by chance does not cap the search: the top of the bracket is tried on a full step', async () => {
  // Sustains 800, but the first ramp step above 100 stalls once, clearly (p99 5× the objective).
  let stalled = false
  const kinds: Array<{ rate: number, kind: StepKind }> = []
  const probe: Probe = async (rate, kind) => {
    kinds.push({ rate, kind })
    const stall = !stalled && kind === 'ramp' && rate > 100
    if (stall) stalled = true
    const pass = rate <= 800 && !stall
    return { rate, kind, pass, reason: pass ? '' : 'p99 over', p99Ms: pass ? 5 : 500, achievedRate: rate, errorRatio: 0 }
  }
  const result = await searchCapacity(probe, { startRate: 50, growth: 1.6, precision: 0.05, maxRate: 20_000, minRate: 1, retryWithin: 3, sloP99Ms: 100 })
  assert.ok(result.capacity <= 800 && result.capacity >= 800 / 1.05 - 0.5, `found ${result.capacity}`)
  assert.ok(result.firstFailing > 800)
  // The rate the stall failed was tried again on a full step.
  const stalledAt = kinds.find((k) => k.kind === 'ramp' && k.rate > 100)?.rate
  assert.ok(kinds.some((k) => k.kind === 'full' && k.rate === stalledAt), `no full step at ${stalledAt}`)
})

test('the top of the bracket is not tried again when a full step failed there', async () => {
  const calls: Array<{ rate: number, kind: StepKind }> = []
  await searchCapacity(thresholdProbe(412, calls), { startRate: 50, growth: 1.6, precision: 0.05, maxRate: 20_000, minRate: 1 })
  // Each rate is tried on a full step at most once (no retries here: the probe's failures are clear).
  const full = calls.filter((c) => c.kind === 'full').map((c) => c.rate)
  assert.equal(new Set(full).size, full.length)
})

test('a bracket from an earlier run takes fewer steps', async () => {
  const cold: Array<{ rate: number, kind: StepKind }> = []
  const first = await searchCapacity(thresholdProbe(800, cold), { startRate: 50, growth: 1.6, precision: 0.05, maxRate: 20_000, minRate: 1 })
  const warm: Array<{ rate: number, kind: StepKind }> = []
  const second = await searchCapacity(thresholdProbe(800, warm), { startRate: 50, growth: 1.6, precision: 0.05, maxRate: 20_000, minRate: 1, bracket: [first.capacity * 0.85, first.capacity * 1.15] })
  assert.ok(warm.length < cold.length, `${warm.length} steps with a bracket, ${cold.length} without`)
  assert.ok(second.capacity <= 800 && second.capacity >= 800 / 1.05 - 0.5)
})

test('a bracket that is now too high comes down, and one too low ramps up', async () => {
  const down = await searchCapacity(thresholdProbe(200, []), { startRate: 50, growth: 1.6, precision: 0.05, maxRate: 20_000, minRate: 1, bracket: [500, 700] })
  assert.ok(down.capacity <= 200 && down.capacity >= 190)
  const up = await searchCapacity(thresholdProbe(2000, []), { startRate: 50, growth: 1.6, precision: 0.05, maxRate: 20_000, minRate: 1, bracket: [500, 700] })
  assert.ok(up.capacity <= 2000 && up.capacity >= 1900)
})

test('a server beyond maxRate is reported at maxRate, limited; one that sustains nothing at 0', async () => {
  const limited = await searchCapacity(thresholdProbe(1e9, []), { startRate: 50, growth: 2, precision: 0.05, maxRate: 1000, minRate: 1 })
  assert.deepEqual([limited.capacity, limited.limited], [1000, true])
  const none = await searchCapacity(thresholdProbe(0.5, []), { startRate: 50, growth: 2, precision: 0.05, maxRate: 1000, minRate: 1 })
  assert.equal(none.capacity, 0)
  assert.equal(none.limited, false)
})

test('bad search settings are refused', async () => {
  await assert.rejects(searchCapacity(thresholdProbe(1, []), { startRate: 50, growth: 1, precision: 0.05, maxRate: 1000, minRate: 1 }), /growth/)
  await assert.rejects(searchCapacity(thresholdProbe(1, []), { startRate: 50, growth: 2, precision: 0, maxRate: 1000, minRate: 1 }), /precision/)
})

test('spread gives the median with min and max', () => {
  assert.deepEqual(spread([300, 100, 200]), { median: 200, min: 100, max: 300 })
  assert.deepEqual(spread([100, 200]), { median: 150, min: 100, max: 200 })
  assert.deepEqual(spread([]), { median: 0, min: 0, max: 0 })
})

test('a narrow failure is run once more, measured longer, and counts only if it fails again; a clear one is not retried', async () => {
  let calls = 0
  const longerRates: number[] = []
  // Sustains 400; the first step at any rate above 300 stalls once (p99 just over the objective).
  const stalledOnce = new Set<number>()
  const probe: Probe = async (rate, kind, longer) => {
    calls++
    if (longer === true) longerRates.push(rate)
    const stall = rate > 300 && rate <= 400 && !stalledOnce.has(rate)
    if (stall) stalledOnce.add(rate)
    const pass = rate <= 400 && !stall
    const p99Ms = pass ? 20 : rate <= 400 ? 140 : 2000
    return { rate, kind, pass, reason: pass ? '' : 'p99', p99Ms, achievedRate: rate, errorRatio: 0 }
  }
  const settings = { startRate: 50, growth: 1.6, precision: 0.05, maxRate: 20_000, minRate: 1 }
  const withRetry = await searchCapacity(probe, { ...settings, retryWithin: 3, sloP99Ms: 100 })
  assert.ok(withRetry.capacity > 380 && withRetry.capacity <= 400, `found ${withRetry.capacity}`)
  // Clear failures (p99 20× the objective) were not retried: every retried rate is one that stalled.
  const rates = withRetry.steps.map((s) => s.rate)
  for (const rate of rates.filter((r, i) => rates.indexOf(r) !== i && withRetry.steps[i - 1]?.rate === r)) assert.ok(rate <= 400, `retried ${rate}`)
  // Every retry, and only a retry, asked for the longer window.
  assert.ok(longerRates.length > 0)
  assert.deepEqual(longerRates, [...stalledOnce].filter((r) => longerRates.includes(r)))
  for (const rate of longerRates) assert.ok(stalledOnce.has(rate), `longer step at ${rate} without a stall`)
  stalledOnce.clear()
  const without = await searchCapacity(probe, { ...settings, retryWithin: 0, sloP99Ms: 100 })
  assert.ok(without.capacity <= 300, `without the retry one stall caps the search: ${without.capacity}`)
  assert.ok(calls > 0)
})
