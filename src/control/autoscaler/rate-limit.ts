import { changeInPeriod, type ScaleEvents } from './history.js'
import type { Behavior, ScalingRules } from './policy.js'

/**
 * Rate policies and replica bounds (upstream convertDesiredReplicasWithBehaviorRate). Each policy
 * allows a change relative to the count at the start of its period, reconstructed from the scale
 * events inside the period; selectPolicy picks the most permissive (Max), the least (Min), or
 * forbids the direction (Disabled).
 */

export type LimitReason = 'ScaleUpLimit' | 'ScaleDownLimit' | 'TooManyReplicas' | 'TooFewReplicas' | 'DesiredWithinRange'

export interface LimitStep {
  readonly replicas: number
  readonly reason: LimitReason
}

export interface ReplicaBounds {
  readonly min: number
  readonly max: number
}

function periodStartReplicas (current: number, events: ScaleEvents, now: number, periodSeconds: number): number {
  return current - changeInPeriod(events.up, now, periodSeconds) + changeInPeriod(events.down, now, periodSeconds)
}

/** The most replicas the scale-up rules allow now (upstream calculateScaleUpLimitWithScalingRules). */
export function scaleUpLimit (current: number, events: ScaleEvents, now: number, rules: ScalingRules): number {
  if (rules.selectPolicy === 'Disabled') return current
  const pick = rules.selectPolicy === 'Min' ? Math.min : Math.max
  let limit = rules.selectPolicy === 'Min' ? Infinity : -Infinity
  for (const policy of rules.policies) {
    const start = periodStartReplicas(current, events, now, policy.periodSeconds)
    // Percent rounds up, or 1 replica at 10 % could never grow. Same float expression as upstream.
    const proposed = policy.type === 'Pods' ? start + policy.value : Math.ceil(start * (1 + policy.value / 100))
    limit = pick(limit, proposed)
  }
  return limit
}

/** The fewest replicas the scale-down rules allow now (upstream calculateScaleDownLimitWithBehaviors). */
export function scaleDownLimit (current: number, events: ScaleEvents, now: number, rules: ScalingRules): number {
  if (rules.selectPolicy === 'Disabled') return current
  // The smallest change (Min) is the highest floor.
  const pick = rules.selectPolicy === 'Min' ? Math.max : Math.min
  let limit = rules.selectPolicy === 'Min' ? -Infinity : Infinity
  for (const policy of rules.policies) {
    const start = periodStartReplicas(current, events, now, policy.periodSeconds)
    // Percent truncates the remaining count (Go's int32 conversion), i.e. rounds the removal up.
    const proposed = policy.type === 'Pods' ? start - policy.value : Math.trunc(start * (1 - policy.value / 100))
    limit = pick(limit, proposed)
  }
  return limit
}

export function limitRate (events: ScaleEvents, now: number, behavior: Behavior, current: number, desired: number, bounds: ReplicaBounds): LimitStep {
  if (desired > current) {
    // Changes already made in the period can put the limit below the current count: hold, never shrink.
    const rateLimit = Math.max(scaleUpLimit(current, events, now, behavior.scaleUp), current)
    const ceiling = Math.min(bounds.max, rateLimit)
    const reason: LimitReason = bounds.max > rateLimit ? 'ScaleUpLimit' : 'TooManyReplicas'
    if (desired > ceiling) return { replicas: ceiling, reason }
  } else if (desired < current) {
    const rateLimit = Math.min(scaleDownLimit(current, events, now, behavior.scaleDown), current)
    const floor = Math.max(bounds.min, rateLimit)
    const reason: LimitReason = bounds.min < rateLimit ? 'ScaleDownLimit' : 'TooFewReplicas'
    if (desired < floor) return { replicas: floor, reason }
  }
  return { replicas: desired, reason: 'DesiredWithinRange' }
}
