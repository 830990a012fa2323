import type { Behavior, ScalingRules } from './policy.js'

/**
 * What the autoscaler remembers between decisions: its raw (unstabilized) recommendations, for the
 * stabilization windows, and the scale changes it made, for the rate policies. Times are in ms.
 */

export interface TimedRecommendation {
  readonly at: number
  readonly replicas: number
}

export interface ScaleEvent {
  readonly at: number
  /** Replicas added (scale-up events) or removed (scale-down events); always positive. */
  readonly change: number
}

export interface ScaleEvents {
  readonly up: readonly ScaleEvent[]
  readonly down: readonly ScaleEvent[]
}

export const NO_SCALE_EVENTS: ScaleEvents = { up: [], down: [] }

/** Sum of the changes strictly inside the last `periodSeconds` (an event exactly at the cutoff is out, as upstream). */
export function changeInPeriod (events: readonly ScaleEvent[], now: number, periodSeconds: number): number {
  const cutoff = now - periodSeconds * 1000
  let total = 0
  for (const event of events) if (event.at > cutoff) total += event.change
  return total
}

function longestPeriodSeconds (rules: ScalingRules): number {
  return Math.max(0, ...rules.policies.map((p) => p.periodSeconds))
}

/**
 * Records a scale change and drops events no policy can still see. Each direction's limit reads
 * both directions' events (a scale-up in the period raises the period's starting count for a
 * scale-down, and the other way round), so both lists are kept for the longest period of either.
 * Upstream instead marks events outdated per direction and reuses their slots; the sums it
 * computes over a policy's period are the same, except that it can lose an event the other
 * direction would still count.
 */
export function recordScaleEvent (events: ScaleEvents, now: number, behavior: Behavior, previous: number, next: number): ScaleEvents {
  const keep = Math.max(longestPeriodSeconds(behavior.scaleUp), longestPeriodSeconds(behavior.scaleDown))
  const fresh = (list: readonly ScaleEvent[]): ScaleEvent[] => list.filter((e) => e.at >= now - keep * 1000)
  const up = fresh(events.up)
  const down = fresh(events.down)
  if (next > previous) up.push({ at: now, change: next - previous })
  else if (next < previous) down.push({ at: now, change: previous - next })
  return { up, down }
}

/**
 * Records a raw recommendation and drops those older than both stabilization windows, which can
 * no longer bound anything (upstream overwrites one such entry per decision instead).
 */
export function recordRecommendation (history: readonly TimedRecommendation[], now: number, behavior: Behavior, replicas: number): TimedRecommendation[] {
  const window = Math.max(behavior.scaleUp.stabilizationWindowSeconds, behavior.scaleDown.stabilizationWindowSeconds)
  const kept = history.filter((r) => r.at >= now - window * 1000)
  kept.push({ at: now, replicas })
  return kept
}
