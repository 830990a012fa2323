import { OutgrowError } from '../errors/index.js'
import type { Contender, ScalingMetric } from './contenders.js'
import { ratePerSecond, type LoadChange, type LoadShape } from './load-shapes.js'
import type { ContenderRun } from './scenario-run.js'
import {
  calibrateCapacity, capacityLags, capacityPoints, carryForward, directionChanges, idealInstances, instanceSeconds, sloViolationSeconds,
  type Calibration, type ChangeLag, type Slo,
} from './scenario-metrics.js'

/** A scenario's numbers for one contender, derived from its run. */
export interface ContenderMeasures {
  readonly contender: Contender['name']
  readonly description: string
  readonly syncMs: number
  readonly lags: readonly ChangeLag[]
  readonly sloViolationSeconds: number
  readonly instanceSeconds: number
  readonly idealInstanceSeconds: number
  /** instanceSeconds / idealInstanceSeconds */
  readonly costRatio: number
  readonly directionChanges: number
  readonly loadChanges: number
  readonly scaleEvents: number
  readonly p99Ms: number
  readonly failed: number
  readonly achievedRate: number
  readonly sendLagP99Ms: number
  readonly loadAverage: readonly [number, number]
  readonly instancesAtStart: number
  /** Running app instances each second. */
  readonly running: readonly number[]
  readonly ready: readonly number[]
  /** p99 (ms) and failures of the requests due each second. */
  readonly p99PerSecond: readonly number[]
  readonly failedPerSecond: readonly number[]
}

export interface ScenarioResult {
  readonly shape: { readonly name: string, readonly description: string, readonly durationSeconds: number, readonly changes: readonly LoadChange[] }
  readonly calibration: Calibration | { readonly capacityPerInstance: number, readonly given: true }
  /** Planned offered rate and ideal instance count each second. */
  readonly rate: readonly number[]
  readonly ideal: readonly number[]
  readonly contenders: readonly ContenderMeasures[]
}

export interface ScenarioSettings {
  readonly min: number
  readonly max: number
  readonly metric: ScalingMetric
  readonly slo: Slo
  /** Requests per second one instance carries at the target; fitted from the runs when absent. */
  readonly capacityPerInstance?: number | undefined
}

const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits

export function calibrationOf (runs: readonly ContenderRun[], settings: ScenarioSettings): ScenarioResult['calibration'] {
  if (settings.capacityPerInstance !== undefined) return { capacityPerInstance: settings.capacityPerInstance, given: true }
  const points = runs.flatMap((r) => capacityPoints(r.readings, r.startedAt, r.seconds.map((s) => s.achieved)))
  const fitted = calibrateCapacity(points, settings.metric.target)
  if (fitted === undefined) {
    throw new OutgrowError('OUTGROW_METRICS_UNAVAILABLE', `could not calibrate the capacity per instance from ${points.length} readings of ${settings.metric.kind}; pass --capacity <req/s per instance>`)
  }
  return fitted
}

export function measureContender (run: ContenderRun, contender: Contender, shape: LoadShape, ideal: readonly number[], settings: ScenarioSettings): ContenderMeasures {
  const running = carryForward(run.seconds.map((s) => s.instances?.running)).slice(0, ideal.length)
  const ready = carryForward(run.seconds.map((s) => s.instances?.ready)).slice(0, ideal.length)
  const used = instanceSeconds(running)
  const idealUsed = instanceSeconds(ideal.slice(0, running.length))
  return {
    contender: contender.name,
    description: contender.description,
    syncMs: contender.syncMs,
    lags: capacityLags(shape.changes, ideal, ready, running),
    sloViolationSeconds: sloViolationSeconds(run.seconds, settings.slo),
    instanceSeconds: used,
    idealInstanceSeconds: idealUsed,
    costRatio: idealUsed === 0 ? 0 : round(used / idealUsed, 2),
    directionChanges: directionChanges(running),
    loadChanges: shape.changes.length,
    scaleEvents: run.scaleEvents.length,
    p99Ms: run.latency.p99Ms,
    failed: run.seconds.reduce((a, s) => a + s.failed, 0),
    achievedRate: run.achievedRate,
    sendLagP99Ms: run.sendLagP99Ms,
    loadAverage: run.loadAverage,
    instancesAtStart: run.instancesAtStart,
    running,
    ready,
    p99PerSecond: run.seconds.map((s) => round(s.p99Ms)),
    failedPerSecond: run.seconds.map((s) => s.failed),
  }
}

/** Calibrates capacity from every contender's run of this trace, then measures each against the same ideal fleet. */
export function scenarioResult (shape: LoadShape, contenders: readonly Contender[], runs: readonly ContenderRun[], settings: ScenarioSettings): ScenarioResult {
  const calibration = calibrationOf(runs, settings)
  const rate = ratePerSecond(shape)
  const ideal = idealInstances(rate, calibration.capacityPerInstance, settings.min, settings.max)
  return {
    shape: { name: shape.name, description: shape.description, durationSeconds: shape.durationSeconds, changes: shape.changes },
    calibration,
    rate: rate.map((r) => round(r)),
    ideal,
    contenders: runs.map((run) => {
      const contender = contenders.find((c) => c.name === run.contender)
      if (contender === undefined) throw new OutgrowError('OUTGROW_INTERNAL', `no contender ${run.contender}`)
      return measureContender(run, contender, shape, ideal, settings)
    }),
  }
}
