import type { LoadChange } from './load-shapes.js'

/**
 * What an autoscaling scenario measures, as pure functions of per-second series: the ideal fleet
 * from a calibrated capacity per instance, how long capacity lagged each load change, the seconds
 * the SLO was broken, instance-seconds against the ideal, and how often the fleet changed direction.
 */

/** One observation for calibration: load each instance carried and the autoscaler's metric meanwhile. */
export interface CapacityPoint {
  readonly perInstanceRate: number
  readonly metric: number
}

export interface Calibration {
  /** Requests per second one instance carries at the metric's target. */
  readonly capacityPerInstance: number
  /**
   * 'near-target': the median of rate × target / metric over the readings between half the target
   * and 0.95; 'linear-fit': metric = intercept + slope × rate over every unsaturated reading, solved
   * for the target (when fewer than 3 readings are near the target).
   */
  readonly method: 'near-target' | 'linear-fit'
  readonly points: number
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/**
 * Requests per second one instance carries at the target. A metric like ELU under a CPU quota is
 * not linear in load (throttled time counts as busy, so it bends upward near the quota) and reads
 * about 1 once saturated, so readings near the target are trusted first: each says
 * rate × target / metric, and the median of those is the answer. With fewer than 3 near the target,
 * a least-squares line through every reading in [0.02, 0.9] is solved for the target instead.
 * Undefined when neither works (too few points, no spread in load, a metric that does not rise).
 */
export function calibrateCapacity (points: readonly CapacityPoint[], target: number): Calibration | undefined {
  const near = points.filter((p) => p.perInstanceRate > 0 && p.metric >= target / 2 && p.metric <= 0.95)
  if (near.length >= 3) return { capacityPerInstance: median(near.map((p) => p.perInstanceRate * target / p.metric)), method: 'near-target', points: near.length }
  const usable = points.filter((p) => p.metric >= 0.02 && p.metric <= 0.9 && p.perInstanceRate > 0)
  if (usable.length < 3) return undefined
  const n = usable.length
  const mx = usable.reduce((a, p) => a + p.perInstanceRate, 0) / n
  const my = usable.reduce((a, p) => a + p.metric, 0) / n
  const sxx = usable.reduce((a, p) => a + (p.perInstanceRate - mx) ** 2, 0)
  if (sxx <= 0) return undefined
  const slope = usable.reduce((a, p) => a + (p.perInstanceRate - mx) * (p.metric - my), 0) / sxx
  const capacity = (target - (my - slope * mx)) / slope
  if (!(slope > 0) || !(capacity > 0)) return undefined
  return { capacityPerInstance: capacity, method: 'linear-fit', points: n }
}

/** One autoscaler evaluation: when, how many instances were ready, and the metric's mean over them. */
export interface MetricReading {
  readonly at: number
  readonly ready: number
  readonly metric: number | undefined
}

/**
 * Calibration points from the autoscaler's readings and the answers per second of the same run:
 * a reading covers the time since the previous one; the answers in the whole seconds of that
 * interval, divided by the ready instances, are what each carried. Intervals in which the ready
 * count changed are skipped.
 */
export function capacityPoints (readings: readonly MetricReading[], runStartMs: number, achievedPerSecond: readonly number[]): CapacityPoint[] {
  const points: CapacityPoint[] = []
  for (let i = 1; i < readings.length; i++) {
    const previous = readings[i - 1] as MetricReading
    const reading = readings[i] as MetricReading
    if (reading.metric === undefined || reading.ready <= 0 || reading.ready !== previous.ready) continue
    const from = Math.ceil((previous.at - runStartMs) / 1000)
    const to = Math.floor((reading.at - runStartMs) / 1000)
    if (from < 0 || to > achievedPerSecond.length || to <= from) continue
    const answered = achievedPerSecond.slice(from, to).reduce((a, v) => a + v, 0)
    points.push({ perInstanceRate: answered / (to - from) / reading.ready, metric: reading.metric })
  }
  return points
}

/** Instances needed each second: ceil(rate / capacity per instance), within [min, max]. */
export function idealInstances (ratePerSecond: readonly number[], capacityPerInstance: number, min: number, max: number): number[] {
  return ratePerSecond.map((rate) => Math.min(max, Math.max(min, Math.ceil(rate / capacityPerInstance - 1e-9))))
}

export interface ChangeLag {
  readonly at: number
  readonly direction: LoadChange['direction']
  /** The most (up) or fewest (down) instances the load needed before the next change. */
  readonly needed: number
  /** Seconds from when the load first needed that many until they were ready (up) or the rest gone (down); null if not before the next change. */
  readonly seconds: number | null
}

/**
 * For each load change: after a rise, the seconds from when the load first needed its peak
 * instance count until that many were ready; after a fall, until no more than the load needed
 * were running. Only seconds before the next change count.
 */
export function capacityLags (changes: readonly LoadChange[], ideal: readonly number[], ready: readonly number[], running: readonly number[]): ChangeLag[] {
  return changes.map((change, k) => {
    const end = Math.min(ideal.length, changes[k + 1]?.at ?? ideal.length)
    const start = Math.min(Math.ceil(change.at), end)
    const window = ideal.slice(start, end)
    if (window.length === 0) return { at: change.at, direction: change.direction, needed: ideal[start] ?? 0, seconds: null }
    const needed = change.direction === 'up' ? Math.max(...window) : Math.min(...window)
    const neededFrom = start + window.indexOf(needed)
    for (let s = neededFrom; s < end; s++) {
      const met = change.direction === 'up' ? (ready[s] ?? 0) >= needed : (running[s] ?? Infinity) <= needed
      if (met) return { at: change.at, direction: change.direction, needed, seconds: s - neededFrom }
    }
    return { at: change.at, direction: change.direction, needed, seconds: null }
  })
}

export interface SloSecond {
  readonly offered: number
  readonly p99Ms: number
  readonly failed: number
}

export interface Slo {
  readonly p99Ms: number
  /** Failures over requests due that second, e.g. 0.001. */
  readonly errorRatio: number
}

export const DEFAULT_SLO: Slo = { p99Ms: 100, errorRatio: 0.001 }

/** Seconds whose requests had a p99 above the SLO or more failures than it allows. */
export function sloViolationSeconds (seconds: readonly SloSecond[], slo: Slo = DEFAULT_SLO): number {
  return seconds.filter((s) => s.offered > 0 && (s.p99Ms > slo.p99Ms || s.failed / s.offered > slo.errorRatio)).length
}

/** Sum of a per-second count: instance-seconds. */
export function instanceSeconds (perSecond: readonly number[]): number {
  return perSecond.reduce((a, v) => a + v, 0)
}

/**
 * How many times a series started moving in a new direction: the first move counts, and every
 * reversal after it. A step up and back down is 2; up, down, up, down (flapping) is 4.
 */
export function directionChanges (series: readonly number[]): number {
  let direction = 0
  let changes = 0
  for (let i = 1; i < series.length; i++) {
    const delta = Math.sign((series[i] as number) - (series[i - 1] as number))
    if (delta !== 0 && delta !== direction) { changes++; direction = delta }
  }
  return changes
}

/** Fills the seconds without a reading with the previous one (the first known one at the start). */
export function carryForward<T> (values: ReadonlyArray<T | undefined>): T[] {
  const first = values.find((v) => v !== undefined)
  if (first === undefined) return []
  let last: T = first
  return values.map((v) => (last = v ?? last))
}
