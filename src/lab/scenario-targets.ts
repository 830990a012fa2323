import type { ContenderMeasures, ScenarioResult } from './scenario-results.js'

/** The targets for Outgrow's autoscaler, checked on one scenario's result. */

export const TARGETS = {
  /** A rise reaches the capacity it needs within this many seconds. */
  reachSeconds: 30,
  /** Instance-seconds at most this multiple of the ideal fleet's. */
  costRatio: 1.2,
} as const

export interface TargetCheck {
  readonly target: string
  readonly met: boolean
  readonly value: string
}

function byName (result: ScenarioResult, name: ContenderMeasures['contender']): ContenderMeasures | undefined {
  return result.contenders.find((c) => c.contender === name)
}

export function checkTargets (result: ScenarioResult): TargetCheck[] {
  const outgrow = byName(result, 'outgrow')
  if (outgrow === undefined) return []
  const checks: TargetCheck[] = []
  for (const lag of outgrow.lags.filter((l) => l.direction === 'up')) {
    checks.push({
      target: `capacity for the rise at ${lag.at} s (${lag.needed} instances) within ${TARGETS.reachSeconds} s`,
      met: lag.seconds !== null && lag.seconds <= TARGETS.reachSeconds,
      value: lag.seconds === null ? 'not reached before the load changed again' : `${lag.seconds} s`,
    })
  }
  checks.push({
    target: 'no flapping: at most one direction change per load change',
    met: outgrow.directionChanges <= outgrow.loadChanges,
    value: `${outgrow.directionChanges} direction changes for ${outgrow.loadChanges} load changes`,
  })
  checks.push({
    target: `instance-seconds ≤ ${TARGETS.costRatio}× the ideal`,
    met: outgrow.costRatio <= TARGETS.costRatio,
    value: `${outgrow.instanceSeconds} of ${outgrow.idealInstanceSeconds} ideal (${outgrow.costRatio}×)`,
  })
  const hpa = byName(result, 'hpa-default')
  if (hpa !== undefined) {
    checks.push({
      target: 'fewer SLO-violation seconds than HPA-default on the same trace',
      met: outgrow.sloViolationSeconds < hpa.sloViolationSeconds,
      value: `${outgrow.sloViolationSeconds} s against ${hpa.sloViolationSeconds} s`,
    })
  }
  return checks
}
