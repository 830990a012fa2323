import type { TimedRecommendation } from './history.js'
import type { Behavior } from './policy.js'

/**
 * Stabilization windows (upstream stabilizeRecommendationWithBehaviors): the result may not rise
 * above the highest raw recommendation of the scale-down window, nor fall below the lowest of the
 * scale-up window. So a brief dip does not shed replicas that the last 5 minutes needed, and with
 * a scale-up window a brief spike does not add replicas.
 */

export type StabilizationReason = 'ScaleUpStabilized' | 'ScaleDownStabilized' | 'ReadyForNewScale'

export interface StabilizationStep {
  readonly replicas: number
  readonly reason: StabilizationReason
}

export function stabilize (history: readonly TimedRecommendation[], now: number, behavior: Behavior, current: number, proposed: number): StabilizationStep {
  const upCutoff = now - behavior.scaleUp.stabilizationWindowSeconds * 1000
  const downCutoff = now - behavior.scaleDown.stabilizationWindowSeconds * 1000
  let upFloor = proposed
  let downCeiling = proposed
  for (const r of history) {
    if (r.at > upCutoff) upFloor = Math.min(upFloor, r.replicas)
    if (r.at > downCutoff) downCeiling = Math.max(downCeiling, r.replicas)
  }
  // Start from the current count and move only as far as both windows agree.
  let replicas = current
  if (replicas < upFloor) replicas = upFloor
  if (replicas > downCeiling) replicas = downCeiling
  if (replicas === proposed) return { replicas, reason: 'ReadyForNewScale' }
  return { replicas, reason: proposed >= current ? 'ScaleUpStabilized' : 'ScaleDownStabilized' }
}
