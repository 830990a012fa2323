import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Autoscaler, propose } from '../../src/control/autoscaler/hpa.js'
import { parseAutoscalePolicy, type AutoscalePolicyInput, type ScalingPolicy } from '../../src/control/autoscaler/policy.js'
import { seededRandom } from '../../src/lab/zipf.js'

const T0 = 1_700_000_000_000
const SECOND = 1000

function autoscaler (input: Partial<AutoscalePolicyInput> = {}, state?: ConstructorParameters<typeof Autoscaler>[1]): Autoscaler {
  return new Autoscaler(parseAutoscalePolicy({ min: 1, max: 100, metrics: [{ kind: 'cpu', target: 0.5 }], ...input }), state)
}

const prng = seededRandom

test('TestScaleDownWithScalingRules: 28% against 50% on 5 replicas goes to 3', () => {
  const hpa = autoscaler({ min: 2, max: 6, behavior: { scaleUp: { stabilizationWindowSeconds: 30, policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] } } }, { recommendations: [] })
  assert.deepEqual(hpa.decide(T0, 5, { cpu: 0.28 }), { desired: 3, reason: 'DesiredWithinRange', metric: 'cpu', ratio: 0.56, proposed: 3 })
})

test('a fresh autoscaler does not scale down within its first scale-down window', () => {
  const hpa = autoscaler({ behavior: 'kubernetes' })
  assert.equal(hpa.decide(T0, 5, { cpu: 0.1 }).reason, 'ScaleDownStabilized')
  assert.equal(hpa.decide(T0 + 299 * SECOND, 5, { cpu: 0.1 }).desired, 5)
  assert.equal(hpa.decide(T0 + 300 * SECOND, 5, { cpu: 0.1 }).desired, 1)
})

test('docs: scale-down follows the highest recommendation of the last 300 s', () => {
  const hpa = autoscaler({ behavior: 'kubernetes' }, { recommendations: [] })
  assert.equal(hpa.decide(T0, 10, { cpu: 0.5 }).desired, 10)
  for (let s = 15; s < 300; s += 15) {
    const d = hpa.decide(T0 + s * SECOND, 10, { cpu: 0.1 })
    assert.deepEqual([d.desired, d.reason, d.proposed], [10, 'ScaleDownStabilized', 2], `at ${s} s`)
  }
  assert.deepEqual(hpa.decide(T0 + 300 * SECOND, 10, { cpu: 0.1 }).desired, 2)
})

test('Outgrow\'s default scale-down window is 20 s: 19 s after the load fell the count holds, at 20 s it follows', () => {
  const hpa = autoscaler({}, { recommendations: [] })
  assert.equal(hpa.decide(T0, 10, { cpu: 0.5 }).desired, 10)
  assert.deepEqual([hpa.decide(T0 + 1 * SECOND, 10, { cpu: 0.1 }).desired, hpa.decide(T0 + 2 * SECOND, 10, { cpu: 0.1 }).reason], [10, 'ScaleDownStabilized'])
  assert.equal(hpa.decide(T0 + 19 * SECOND, 10, { cpu: 0.1 }).desired, 10)
  assert.equal(hpa.decide(T0 + 20 * SECOND, 10, { cpu: 0.1 }).desired, 2)
})

test('default scale-up: at most max(double, +4) per 15 s, counting what was added in the period', () => {
  const hpa = autoscaler({ max: 50 })
  assert.deepEqual([hpa.decide(T0, 1, { cpu: 50 }).desired, hpa.decide(T0, 1, { cpu: 50 }).reason], [5, 'ScaleUpLimit'])
  assert.equal(hpa.decide(T0 + 10 * SECOND, 5, { cpu: 10 }).desired, 5, 'the +4 of 10 s ago still counts')
  assert.equal(hpa.decide(T0 + 16 * SECOND, 5, { cpu: 10 }).desired, 10)
})

test('a count outside the bounds is brought inside first; zero replicas is left alone', () => {
  const hpa = autoscaler({ min: 2, max: 6 })
  assert.deepEqual([hpa.decide(T0, 9, { cpu: 0.5 }).desired, hpa.decide(T0, 9, { cpu: 0.5 }).reason], [6, 'TooManyReplicas'])
  assert.deepEqual([hpa.decide(T0, 1, { cpu: 0.5 }).desired, hpa.decide(T0, 1, { cpu: 0.5 }).reason], [2, 'TooFewReplicas'])
  assert.deepEqual([hpa.decide(T0, 0, { cpu: 5 }).desired, hpa.decide(T0, 0, { cpu: 5 }).reason], [0, 'ScalingDisabled'])
})

test('without any metric value the count is kept', () => {
  assert.deepEqual(autoscaler().decide(T0, 4, {}), { desired: 4, reason: 'NoMetrics', metric: undefined, ratio: undefined, proposed: 4 })
})

test('predictive mode takes the forecast when it asks for more; reactive mode ignores it', () => {
  const predictive = autoscaler({ mode: 'predictive' }, { recommendations: [] })
  const d = predictive.decide(T0, 3, { cpu: 0.5 }, { predictedReplicas: 6 })
  assert.deepEqual([d.desired, d.metric, d.proposed], [6, 'predictive', 6])
  assert.equal(predictive.decide(T0 + 60 * SECOND, 6, { cpu: 2 }, { predictedReplicas: 6 }).metric, 'cpu')
  assert.equal(autoscaler({}, { recommendations: [] }).decide(T0, 3, { cpu: 0.5 }, { predictedReplicas: 6 }).desired, 3)
})

test('property: within tolerance the proposal is the current count', () => {
  const random = prng(7)
  for (let i = 0; i < 1000; i++) {
    const current = 1 + Math.floor(random() * 50)
    const target = 0.01 + random() * 100
    const tolerance = random() * 0.3
    const value = target * (1 + (2 * random() - 1) * tolerance)
    const type = random() < 0.5 ? 'average' as const : 'total' as const
    const metric = { name: 'm', target, type, value: type === 'total' ? value * current : value }
    assert.equal(propose({ currentReplicas: current, metrics: [metric], tolerance }).replicas, current, JSON.stringify({ current, metric, tolerance }))
  }
})

const UP: ScalingPolicy[] = [{ type: 'Pods', value: 3, periodSeconds: 60 }, { type: 'Percent', value: 50, periodSeconds: 30 }]
const DOWN: ScalingPolicy[] = [{ type: 'Pods', value: 2, periodSeconds: 120 }, { type: 'Percent', value: 20, periodSeconds: 45 }]

/** The count in effect at `time`: after the last decision made at or before it (events at the cutoff are outside a period). */
function countAt (timeline: ReadonlyArray<{ at: number, replicas: number }>, initial: number, time: number): number {
  let count = initial
  for (const point of timeline) if (point.at <= time) count = point.replicas
  return count
}

for (const seed of [1, 2, 3]) {
  test(`property (seed ${seed}): 1000 decisions stay within [min, max] and never outrun a rate policy`, () => {
    const random = prng(seed)
    const min = 2
    const max = 40
    const hpa = autoscaler({
      min, max,
      behavior: {
        scaleUp: { stabilizationWindowSeconds: seed === 3 ? 30 : 0, policies: UP },
        scaleDown: { stabilizationWindowSeconds: seed === 3 ? 60 : 0, policies: DOWN },
      },
    })
    const initial = 10
    let current = initial
    let load = 5 // in units of one replica at target
    let now = T0
    const timeline: Array<{ at: number, replicas: number }> = []
    let ups = 0
    let downs = 0
    for (let i = 0; i < 1000; i++) {
      now += (1 + Math.floor(random() * 40)) * SECOND
      load = Math.min(80, Math.max(0.1, load * Math.exp((random() - 0.5) * 0.8)))
      const decision = hpa.decide(now, current, { cpu: 0.5 * load / current })
      const next = decision.desired
      assert.ok(next >= min && next <= max, `decision ${i}: ${next} outside [${min}, ${max}]`)
      if (next > current) {
        ups++
        const allowed = Math.max(...UP.map((p) => {
          const base = countAt(timeline, initial, now - p.periodSeconds * SECOND)
          return p.type === 'Pods' ? base + p.value : Math.ceil(base * (1 + p.value / 100))
        }))
        assert.ok(next <= allowed, `decision ${i}: up to ${next}, policies allow ${allowed}`)
      } else if (next < current) {
        downs++
        const allowed = Math.min(...DOWN.map((p) => {
          const base = countAt(timeline, initial, now - p.periodSeconds * SECOND)
          return p.type === 'Pods' ? base - p.value : Math.trunc(base * (1 - p.value / 100))
        }))
        assert.ok(next >= allowed, `decision ${i}: down to ${next}, policies allow ${allowed}`)
      }
      if (next !== current) timeline.push({ at: now, replicas: next })
      current = next
    }
    // The walk must actually exercise both directions, or the property says nothing.
    assert.ok(ups > 20 && downs > 20, `ups ${ups}, downs ${downs}`)
  })
}
