import assert from 'node:assert/strict'
import { test } from 'node:test'
import { OutgrowError } from '../../src/errors/index.js'
import { changeInPeriod, recordRecommendation, recordScaleEvent, type ScaleEvent, type ScaleEvents, type TimedRecommendation } from '../../src/control/autoscaler/history.js'
import { limitRate, propose, stabilize } from '../../src/control/autoscaler/hpa.js'
import { KUBERNETES_BEHAVIOR, OUTGROW_BEHAVIOR, parseAutoscalePolicy, type Behavior, type ScalingRules } from '../../src/control/autoscaler/policy.js'
import type { ProposeInput } from '../../src/control/autoscaler/proposal.js'

// Tables ported from Kubernetes' pkg/controller/podautoscaler tests (horizontal_test.go,
// replica_calculator_test.go) and the examples of the "Horizontal Pod Autoscaling" documentation.

const NOW = 1_000_000_000

/** upstream generateScalingRules: Max select, a Pods and/or a Percent policy (0 leaves one out). */
function rules (pods: number, podsPeriod: number, percent: number, percentPeriod: number, window: number): ScalingRules {
  const policies = [
    ...(pods !== 0 ? [{ type: 'Pods' as const, value: pods, periodSeconds: podsPeriod }] : []),
    ...(percent !== 0 ? [{ type: 'Percent' as const, value: percent, periodSeconds: percentPeriod }] : []),
  ]
  return { stabilizationWindowSeconds: window, selectPolicy: 'Max', policies }
}

/** upstream generateEventsUniformDistribution: events spread over the last `periodSeconds`, oldest first. */
function spread (changes: readonly number[], periodSeconds: number): ScaleEvent[] {
  const segment = periodSeconds / changes.length
  return changes.map((change, i) => ({ change, at: NOW - (periodSeconds - segment * (i + 1) + segment / 2) * 1000 }))
}

function recs (...pairs: Array<[replicas: number, secondsAgo: number]>): TimedRecommendation[] {
  return pairs.map(([replicas, secondsAgo]) => ({ replicas, at: NOW - secondsAgo * 1000 }))
}

type Case =
  | { readonly kind: 'propose', readonly name: string, readonly input: ProposeInput, readonly replicas: number, readonly metric?: string }
  | {
    readonly kind: 'limit', readonly name: string, readonly current: number, readonly desired: number, readonly min: number, readonly max: number,
    readonly up?: ScalingRules, readonly down?: ScalingRules, readonly events?: Partial<ScaleEvents>, readonly replicas: number, readonly reason: string,
  }
  | {
    readonly kind: 'stabilize', readonly name: string, readonly history: TimedRecommendation[], readonly current: number, readonly proposed: number,
    readonly upWindow: number, readonly downWindow: number, readonly replicas: number, readonly reason?: string,
  }

const cpu = (value: number, target: number) => ({ name: 'cpu', value, target })
const queue = (value: number, target: number) => ({ name: 'queue-depth', value, target, type: 'total' as const })

const cases: Case[] = [
  // --- the proposal (replica_calculator.go) ---
  { kind: 'propose', name: 'docs: 200m against 100m doubles', input: { currentReplicas: 4, metrics: [cpu(0.2, 0.1)] }, replicas: 8 },
  { kind: 'propose', name: 'docs: 50m against 100m halves', input: { currentReplicas: 4, metrics: [cpu(0.05, 0.1)] }, replicas: 2 },
  { kind: 'propose', name: 'docs: within the 0.1 tolerance nothing changes', input: { currentReplicas: 4, metrics: [cpu(0.105, 0.1)] }, replicas: 4 },
  { kind: 'propose', name: 'tolerance bound is inclusive (0.77 / 0.7 = 1.1)', input: { currentReplicas: 10, metrics: [cpu(0.77, 0.7)] }, replicas: 10 },
  { kind: 'propose', name: 'TestReplicaCalcScaleUp: 50% vs 30% on 3 → 5', input: { currentReplicas: 3, metrics: [cpu(0.5, 0.3)] }, replicas: 5 },
  { kind: 'propose', name: 'TestReplicaCalcScaleDown: 28% vs 50% on 5 → 3', input: { currentReplicas: 5, metrics: [cpu(0.28, 0.5)] }, replicas: 3 },
  { kind: 'propose', name: 'TestReplicaCalcScaleUpUnreadyLessScale: unready counts as 0 on a scale-up', input: { currentReplicas: 3, readyReplicas: 2, metrics: [cpu(0.6, 0.3)] }, replicas: 4 },
  { kind: 'propose', name: 'TestReplicaCalcScaleUpUnreadyNoScale: unready dilution reverses direction → hold', input: { currentReplicas: 3, readyReplicas: 1, metrics: [cpu(0.5, 0.3)] }, replicas: 3 },
  { kind: 'propose', name: 'TestReplicaCalcScaleDownIgnoresUnreadyPods', input: { currentReplicas: 5, readyReplicas: 3, metrics: [cpu(0.3, 0.5)] }, replicas: 2 },
  { kind: 'propose', name: 'TestComputedToleranceAlgImplementation: just outside tolerance → 9', input: { currentReplicas: 10, metrics: [cpu(0.5, 0.56)] }, replicas: 9 },
  { kind: 'propose', name: 'TestComputedToleranceAlgImplementation: just inside tolerance → 10', input: { currentReplicas: 10, metrics: [cpu(0.5, 0.55)] }, replicas: 10 },
  { kind: 'propose', name: 'TestReplicaCalcScaleUpPerPodCMExternal: 8600 at 2150 per replica → 4', input: { currentReplicas: 3, metrics: [queue(8600, 2150)] }, replicas: 4 },
  { kind: 'propose', name: 'TestReplicaCalcScaleDownPerPodCMExternal: 8600 at 2150 per replica → 4', input: { currentReplicas: 5, metrics: [queue(8600, 2150)] }, replicas: 4 },
  { kind: 'propose', name: 'TestReplicaCalcTolerancePerPodCMExternal: 8600 vs 3 × 2900 → hold', input: { currentReplicas: 3, metrics: [queue(8600, 2900)] }, replicas: 3 },
  { kind: 'propose', name: 'the largest proposal wins and names its metric', input: { currentReplicas: 3, metrics: [cpu(0.4, 0.3), queue(100, 10)] }, replicas: 10, metric: 'queue-depth' },
  { kind: 'propose', name: 'TestScaleUpOneMetricEmpty: a metric without a value is skipped', input: { currentReplicas: 3, metrics: [cpu(0.4, 0.3), queue(Number.NaN, 100)] }, replicas: 4, metric: 'cpu' },
  { kind: 'propose', name: 'all metrics below target scale down to the largest', input: { currentReplicas: 10, metrics: [cpu(0.1, 0.5), queue(30, 10)] }, replicas: 3, metric: 'queue-depth' },

  // --- rates and bounds (TestScalingWithRules) ---
  { kind: 'limit', name: 'prenormalized desired replicas within range', current: 5, desired: 7, min: 3, max: 8, replicas: 7, reason: 'DesiredWithinRange' },
  { kind: 'limit', name: 'prenormalized desired replicas < minReplicas', current: 3, desired: 1, min: 2, max: 8, replicas: 2, reason: 'TooFewReplicas' },
  { kind: 'limit', name: 'maxReplicas is the limit because maxReplicas < scaleUpLimit', current: 20, desired: 1000, min: 1, max: 10, replicas: 10, reason: 'TooManyReplicas' },
  { kind: 'limit', name: 'desired replica count is more than the maximum replica count', current: 100, desired: 1000, min: 100, max: 150, replicas: 150, reason: 'TooManyReplicas' },
  { kind: 'limit', name: 'scaleUpLimit < maxReplicas with user policies', current: 3, desired: 1000, min: 1, max: 2000, up: rules(0, 0, 1, 60, 0), replicas: 4, reason: 'ScaleUpLimit' },
  { kind: 'limit', name: 'scaleDownLimit > minReplicas with user policies', current: 1000, desired: 3, min: 3, max: 2000, down: rules(20, 60, 0, 0, 0), replicas: 980, reason: 'ScaleDownLimit' },
  { kind: 'limit', name: 'scaleUp with default behavior', current: 10, desired: 50, min: 1, max: 1000, replicas: 20, reason: 'ScaleUpLimit' },
  { kind: 'limit', name: 'scaleUp with pods policy larger than percent policy', current: 10, desired: 500, min: 1, max: 1000, up: rules(100, 60, 100, 60, 0), replicas: 110, reason: 'ScaleUpLimit' },
  { kind: 'limit', name: 'scaleUp with percent policy larger than pods policy', current: 10, desired: 500, min: 1, max: 1000, up: rules(2, 60, 100, 60, 0), replicas: 20, reason: 'ScaleUpLimit' },
  { kind: 'limit', name: 'scaleUp with spec MaxReplicas limitation with large pod policy', current: 10, desired: 50, min: 1, max: 1000, up: rules(100, 60, 0, 0, 0), replicas: 50, reason: 'DesiredWithinRange' },
  { kind: 'limit', name: 'scaleUp with spec MaxReplicas limitation with large percent policy', current: 10, desired: 50, min: 1, max: 1000, up: rules(10000, 60, 0, 0, 0), replicas: 50, reason: 'DesiredWithinRange' },
  { kind: 'limit', name: 'scaleUp with pod policy limitation', current: 10, desired: 50, min: 1, max: 1000, up: rules(30, 60, 0, 0, 0), replicas: 40, reason: 'ScaleUpLimit' },
  { kind: 'limit', name: 'scaleUp with percent policy limitation', current: 10, desired: 50, min: 1, max: 1000, up: rules(0, 0, 200, 60, 0), replicas: 30, reason: 'ScaleUpLimit' },
  { kind: 'limit', name: 'scaleDown with percent policy larger than pod policy', current: 100, desired: 2, min: 1, max: 1000, down: rules(20, 60, 1, 60, 300), replicas: 80, reason: 'ScaleDownLimit' },
  { kind: 'limit', name: 'scaleDown with pod policy larger than percent policy', current: 100, desired: 2, min: 1, max: 1000, down: rules(2, 60, 1, 60, 300), replicas: 98, reason: 'ScaleDownLimit' },
  { kind: 'limit', name: 'scaleDown with spec MinReplicas limitation with large pod policy', current: 10, desired: 0, min: 1, max: 1000, down: rules(100, 60, 0, 0, 300), replicas: 1, reason: 'TooFewReplicas' },
  { kind: 'limit', name: 'scaleDown with spec MinReplicas limitation with large percent policy', current: 10, desired: 2, min: 5, max: 1000, down: rules(0, 0, 100, 60, 300), replicas: 5, reason: 'TooFewReplicas' },
  { kind: 'limit', name: 'scaleDown with pod policy limitation', current: 10, desired: 2, min: 1, max: 1000, down: rules(5, 60, 0, 0, 300), replicas: 5, reason: 'ScaleDownLimit' },
  { kind: 'limit', name: 'scaleDown with percent policy limitation', current: 10, desired: 5, min: 1, max: 1000, down: rules(0, 0, 50, 60, 300), replicas: 5, reason: 'DesiredWithinRange' },
  { kind: 'limit', name: 'scaleUp with spec MaxReplicas limitation with large pod policy and events', current: 100, desired: 500, min: 1, max: 200, up: rules(300, 60, 0, 0, 0), events: { up: spread([1, 5, 9], 120) }, replicas: 200, reason: 'TooManyReplicas' },
  { kind: 'limit', name: 'scaleUp with spec MaxReplicas limitation with large percent policy and events', current: 100, desired: 500, min: 1, max: 200, up: rules(0, 0, 10000, 60, 0), events: { up: spread([1, 5, 9], 120) }, replicas: 200, reason: 'TooManyReplicas' },
  { kind: 'limit', name: 'scaleUp with currentReplicas limitation with a lot of recent scale up events', current: 100, desired: 500, min: 1, max: 1000, up: rules(5, 120, 0, 0, 0), events: { up: spread([1, 5, 9], 120) }, replicas: 100, reason: 'ScaleUpLimit' },
  { kind: 'limit', name: 'scaleUp with pod policy and previous scale up events', current: 100, desired: 500, min: 1, max: 1000, up: rules(150, 120, 0, 0, 0), events: { up: spread([1, 5, 9], 120) }, replicas: 235, reason: 'ScaleUpLimit' },
  { kind: 'limit', name: 'scaleUp with percent policy and previous scale up events', current: 100, desired: 500, min: 1, max: 1000, up: rules(0, 0, 200, 120, 0), events: { up: spread([1, 5, 9], 120) }, replicas: 255, reason: 'ScaleUpLimit' },
  { kind: 'limit', name: 'scaleDown with default policy and previous events', current: 10, desired: 5, min: 1, max: 1000, events: { down: spread([1, 5, 9], 120) }, replicas: 5, reason: 'DesiredWithinRange' },
  { kind: 'limit', name: 'scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events', current: 100, desired: 0, min: 1, max: 1000, down: rules(115, 120, 0, 0, 300), events: { down: spread([1, 5, 9], 120) }, replicas: 1, reason: 'TooFewReplicas' },
  { kind: 'limit', name: 'scaleDown with spec MinReplicas limitation with large pod policy and previous events', current: 100, desired: 0, min: 5, max: 1000, down: rules(130, 120, 0, 0, 300), events: { down: spread([1, 5, 9], 120) }, replicas: 5, reason: 'TooFewReplicas' },
  { kind: 'limit', name: 'scaleDown with spec MinReplicas limitation with large percent policy and previous events', current: 100, desired: 2, min: 5, max: 1000, down: rules(0, 0, 100, 120, 300), events: { down: spread([1, 5, 9], 120) }, replicas: 5, reason: 'TooFewReplicas' },
  { kind: 'limit', name: 'scaleDown with pod policy limitation and previous events', current: 100, desired: 2, min: 1, max: 1000, down: rules(5, 120, 0, 0, 300), events: { down: spread([1, 5, 9], 120) }, replicas: 100, reason: 'ScaleDownLimit' },
  { kind: 'limit', name: 'scaleDown with percent policy limitation and previous events', current: 100, desired: 0, min: 1, max: 1000, down: rules(0, 0, 50, 120, 300), events: { down: spread([2, 4, 6], 120) }, replicas: 56, reason: 'ScaleDownLimit' },
  { kind: 'limit', name: 'scaleDown with previous events preventing further scale down', current: 100, desired: 0, min: 1, max: 1000, down: rules(0, 0, 10, 120, 300), events: { down: spread([10, 10, 10], 120) }, replicas: 100, reason: 'ScaleDownLimit' },
  { kind: 'limit', name: 'scaleDown with previous events still allowing more scale down', current: 10, desired: 5, min: 1, max: 1000, down: rules(0, 0, 1000, 120, 300), events: { down: spread([10, 10, 10], 120) }, replicas: 5, reason: 'DesiredWithinRange' },
  { kind: 'limit', name: 'events older than one policy\'s period do not count for it (up)', current: 100, desired: 200, min: 1, max: 1000, up: rules(1000, 30, 100, 60, 0), events: { up: spread([8, 12, 9, 11], 120) }, replicas: 200, reason: 'DesiredWithinRange' },
  { kind: 'limit', name: 'events older than one policy\'s period do not count for it (down)', current: 100, desired: 5, min: 1, max: 1000, down: rules(1000, 30, 100, 60, 300), events: { down: spread([8, 12, 9, 11], 120) }, replicas: 5, reason: 'DesiredWithinRange' },
  { kind: 'limit', name: 'TestCalculateScaleUpLimitWithScalingRules: Min select', current: 1, desired: 100, min: 1, max: 1000, up: { ...rules(2, 60, 50, 60, 300), selectPolicy: 'Min' }, replicas: 2, reason: 'ScaleUpLimit' },
  { kind: 'limit', name: 'TestCalculateScaleDownLimitWithBehaviors: Min select', current: 5, desired: 1, min: 1, max: 1000, down: { ...rules(2, 60, 50, 60, 300), selectPolicy: 'Min' }, replicas: 3, reason: 'ScaleDownLimit' },
  { kind: 'limit', name: 'scale-up period start counts the scale-downs in the period (kubernetes#108354)', current: 6, desired: 20, min: 1, max: 20, up: { ...rules(0, 0, 300, 300, 0), selectPolicy: 'Min' }, events: { up: spread([4], 200), down: spread([2], 100) }, replicas: 16, reason: 'ScaleUpLimit' },
  { kind: 'limit', name: 'percent scale-up rounds in float64 as upstream: 50 × 1.1 = 55.00000000000001 → 56', current: 50, desired: 100, min: 1, max: 100, up: rules(0, 0, 10, 60, 0), replicas: 56, reason: 'ScaleUpLimit' },
  { kind: 'limit', name: 'docs: 4 pods or 10% per minute at 80 replicas removes 8', current: 80, desired: 10, min: 1, max: 100, down: rules(4, 60, 10, 60, 300), replicas: 72, reason: 'ScaleDownLimit' },
  { kind: 'limit', name: 'docs: then at 72, 7.2 rounds up to 8', current: 72, desired: 10, min: 1, max: 100, down: rules(4, 60, 10, 60, 300), replicas: 64, reason: 'ScaleDownLimit' },
  { kind: 'limit', name: 'docs: below 40 replicas the 4-pod policy allows more', current: 30, desired: 10, min: 1, max: 100, down: rules(4, 60, 10, 60, 300), replicas: 26, reason: 'ScaleDownLimit' },
  { kind: 'limit', name: 'docs: selectPolicy Min picks the smaller change', current: 80, desired: 10, min: 1, max: 100, down: { ...rules(4, 60, 10, 60, 300), selectPolicy: 'Min' }, replicas: 76, reason: 'ScaleDownLimit' },
  { kind: 'limit', name: 'docs: selectPolicy Disabled never scales down', current: 10, desired: 2, min: 1, max: 100, down: { ...KUBERNETES_BEHAVIOR.scaleDown, selectPolicy: 'Disabled' }, replicas: 10, reason: 'ScaleDownLimit' },
  { kind: 'limit', name: 'selectPolicy Disabled on scale-up still allows scaling down', current: 10, desired: 2, min: 1, max: 100, up: { ...KUBERNETES_BEHAVIOR.scaleUp, selectPolicy: 'Disabled' }, replicas: 2, reason: 'DesiredWithinRange' },

  // --- stabilization (TestNormalizeDesiredReplicasWithBehavior, TestNormalizeDesiredReplicas) ---
  { kind: 'stabilize', name: 'empty recommendations for scaling down', history: [], current: 100, proposed: 5, upWindow: 0, downWindow: 0, replicas: 5, reason: 'ReadyForNewScale' },
  { kind: 'stabilize', name: 'simple scale down stabilization', history: recs([4, 120], [5, 60]), current: 100, proposed: 3, upWindow: 0, downWindow: 180, replicas: 5, reason: 'ScaleDownStabilized' },
  { kind: 'stabilize', name: 'simple scale up stabilization', history: recs([4, 120], [5, 60]), current: 1, proposed: 7, upWindow: 300, downWindow: 0, replicas: 4, reason: 'ScaleUpStabilized' },
  { kind: 'stabilize', name: 'no scale down stabilization', history: recs([1, 120], [2, 60]), current: 100, proposed: 3, upWindow: 300, downWindow: 0, replicas: 3 },
  { kind: 'stabilize', name: 'no scale up stabilization', history: recs([4, 120], [5, 60]), current: 1, proposed: 3, upWindow: 0, downWindow: 300, replicas: 3 },
  { kind: 'stabilize', name: 'no scale down stabilization, old recommendations', history: recs([10, 600], [9, 540]), current: 100, proposed: 3, upWindow: 0, downWindow: 0, replicas: 3 },
  { kind: 'stabilize', name: 'scale down stabilization ignores obsolete recommendations', history: recs([10, 600], [4, 60], [5, 120], [9, 540]), current: 100, proposed: 3, upWindow: 0, downWindow: 180, replicas: 5 },
  { kind: 'stabilize', name: 'scale up stabilization ignores obsolete recommendations', history: recs([10, 6000], [6, 60], [5, 120], [9, 180]), current: 1, proposed: 100, upWindow: 300, downWindow: 0, replicas: 5 },
  { kind: 'stabilize', name: 'TestNormalizeDesiredReplicas: stabilize with the 5-minute window', history: recs([4, 120], [5, 60]), current: 10, proposed: 3, upWindow: 0, downWindow: 300, replicas: 5 },
  { kind: 'stabilize', name: 'TestNormalizeDesiredReplicas: stabilize - old recommendations', history: recs([10, 600], [4, 60], [5, 120], [9, 540]), current: 10, proposed: 3, upWindow: 0, downWindow: 300, replicas: 5 },
  { kind: 'stabilize', name: 'both windows: current between the bounds stays', history: recs([8, 30], [3, 20]), current: 5, proposed: 4, upWindow: 60, downWindow: 60, replicas: 5, reason: 'ScaleDownStabilized' },
  { kind: 'stabilize', name: 'a recommendation exactly at the cutoff is outside the window', history: recs([9, 300]), current: 10, proposed: 3, upWindow: 0, downWindow: 300, replicas: 3 },
]

function behaviorOf (up?: ScalingRules, down?: ScalingRules): Behavior {
  return { scaleUp: up ?? KUBERNETES_BEHAVIOR.scaleUp, scaleDown: down ?? KUBERNETES_BEHAVIOR.scaleDown }
}

function run (c: Case): void {
  switch (c.kind) {
    case 'propose': {
      const result = propose(c.input)
      assert.equal(result.replicas, c.replicas)
      if (c.metric !== undefined) assert.equal(result.metric, c.metric)
      return
    }
    case 'limit': {
      const events: ScaleEvents = { up: c.events?.up ?? [], down: c.events?.down ?? [] }
      const result = limitRate(events, NOW, behaviorOf(c.up, c.down), c.current, c.desired, { min: c.min, max: c.max })
      assert.deepEqual(result, { replicas: c.replicas, reason: c.reason })
      return
    }
    case 'stabilize': {
      const behavior = behaviorOf({ ...KUBERNETES_BEHAVIOR.scaleUp, stabilizationWindowSeconds: c.upWindow }, { ...KUBERNETES_BEHAVIOR.scaleDown, stabilizationWindowSeconds: c.downWindow })
      const result = stabilize(c.history, NOW, behavior, c.current, c.proposed)
      assert.equal(result.replicas, c.replicas)
      if (c.reason !== undefined) assert.equal(result.reason, c.reason)
    }
  }
}

for (const c of cases) test(`${c.kind}: ${c.name}`, () => { run(c) })

test('policy: behavior \'kubernetes\' is exactly autoscaling/v2\'s defaults', () => {
  const policy = parseAutoscalePolicy({ min: 1, max: 10, metrics: [{ kind: 'cpu', target: 0.7 }], behavior: 'kubernetes' })
  assert.deepEqual(policy.behavior, {
    scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }, { type: 'Pods', value: 4, periodSeconds: 15 }] },
    scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
  })
})

test('policy: without behavior, Outgrow\'s defaults: Kubernetes\' scale-up and rate policies, a 20 s scale-down window', () => {
  const policy = parseAutoscalePolicy({ min: 1, max: 10, metrics: [{ kind: 'cpu', target: 0.7 }] })
  assert.deepEqual(policy.behavior, OUTGROW_BEHAVIOR)
  assert.deepEqual(policy.behavior.scaleUp, KUBERNETES_BEHAVIOR.scaleUp)
  assert.deepEqual(policy.behavior.scaleDown, { ...KUBERNETES_BEHAVIOR.scaleDown, stabilizationWindowSeconds: 20 })
  assert.deepEqual(parseAutoscalePolicy({ min: 1, max: 10, metrics: [{ kind: 'cpu', target: 0.7 }], behavior: 'outgrow' }).behavior, OUTGROW_BEHAVIOR)
  assert.equal(policy.tolerance, 0.1)
  assert.equal(policy.mode, 'reactive')
})

test('policy: a partly given direction keeps Outgrow\'s defaults of the fields left out', () => {
  const policy = parseAutoscalePolicy({ min: 2, max: 8, metrics: [{ kind: 'elu', target: 0.6 }], behavior: { scaleUp: { stabilizationWindowSeconds: 10 } } })
  assert.deepEqual(policy.behavior.scaleUp, { ...OUTGROW_BEHAVIOR.scaleUp, stabilizationWindowSeconds: 10 })
  assert.deepEqual(policy.behavior.scaleDown, OUTGROW_BEHAVIOR.scaleDown)
})

test('policy: an unknown behavior preset is refused naming the field', () => {
  assert.throws(() => parseAutoscalePolicy({ min: 1, max: 3, metrics: [{ kind: 'cpu', target: 0.5 }], behavior: 'aws' }), /behavior/)
})

test('policy: min above max is refused naming the field', () => {
  assert.throws(() => parseAutoscalePolicy({ min: 5, max: 3, metrics: [{ kind: 'cpu', target: 0.5 }] }), (err: unknown) => {
    assert.ok(err instanceof OutgrowError)
    assert.equal(err.code, 'OUTGROW_CONFIG_INVALID')
    assert.equal(err.details?.field, 'min')
    assert.match(err.message, /^invalid autoscale policy: min: min \(5\) is greater than max \(3\)$/)
    return true
  })
  assert.throws(() => parseAutoscalePolicy({ min: 1, max: 3, metrics: [{ kind: 'memory', target: 0.5 }] }), /metrics\.0\.kind/)
})

// TestStoreScaleEvents: which events count for a 60-second period before and after one more is stored.
// Upstream keeps an outdated event in its slot when no new event reuses it; here it is dropped.
const storeCases: Array<{ name: string, previous: Array<[change: number, secondsAgo: number]>, rules: ScalingRules, before: number, after: number[] }> = [
  { name: 'empty entries with two-policy-behavior', previous: [], rules: rules(10, 60, 100, 60, 0), before: 0, after: [5] },
  { name: 'one outdated entry to be replaced', previous: [[7, 61]], rules: rules(10, 60, 100, 60, 0), before: 0, after: [5] },
  { name: 'one actual entry to be not touched', previous: [[7, 58]], rules: rules(10, 60, 100, 60, 0), before: 7, after: [7, 5] },
  { name: 'two entries, one of them to be replaced', previous: [[7, 61], [6, 59]], rules: rules(10, 60, 0, 0, 0), before: 6, after: [6, 5] },
  { name: 'policies with different periods keep what the longest sees', previous: [[8, 29], [6, 59], [7, 61], [9, 61]], rules: rules(10, 60, 100, 30, 0), before: 14, after: [8, 6, 5] },
  { name: 'two entries, both actual', previous: [[7, 58], [6, 59]], rules: rules(10, 120, 100, 30, 0), before: 13, after: [7, 6, 5] },
]

for (const c of storeCases) {
  test(`store scale events: ${c.name}`, () => {
    const previous = c.previous.map(([change, ago]) => ({ change, at: NOW - ago * 1000 }))
    const behavior: Behavior = { scaleUp: c.rules, scaleDown: c.rules }
    for (const direction of ['up', 'down'] as const) {
      const events: ScaleEvents = { up: direction === 'up' ? previous : [], down: direction === 'down' ? previous : [] }
      assert.equal(changeInPeriod(events[direction], NOW, 60), c.before, `${direction}: counted before`)
      const next = recordScaleEvent(events, NOW, behavior, 10, direction === 'up' ? 15 : 5)
      assert.deepEqual(next[direction].map((e) => e.change), c.after, `${direction}: stored`)
      assert.deepEqual(next[direction === 'up' ? 'down' : 'up'], [], `${direction}: other direction untouched`)
    }
  })
}

test('recommendations older than both windows are dropped when one is recorded', () => {
  const behavior = behaviorOf({ ...KUBERNETES_BEHAVIOR.scaleUp, stabilizationWindowSeconds: 150 }, KUBERNETES_BEHAVIOR.scaleDown)
  const kept = recordRecommendation(recs([10, 6000], [6, 60], [5, 120], [9, 299]), NOW, behavior, 100)
  assert.deepEqual(kept.map((r) => r.replicas), [6, 5, 9, 100])
})
