import type { EjectionReason, Upstream } from './upstream.js'

export interface OutlierOptions {
  readonly consecutiveFailures: number
  readonly baseEjectionMs: number
  readonly maxEjectionMs: number
  readonly maxEjectedPercent: number
  readonly intervalMs?: number
  readonly minRequests?: number
  readonly latencyFactor?: number
  readonly latencyMinExtraMs?: number
  /** Intervals in a row an instance must be that slow before it is ejected for latency. */
  readonly latencyIntervals?: number
  readonly failurePercentage?: number
}

/** One instance's outcomes since the last sweep. */
interface Interval {
  requests: number
  failures: number
  readonly latencies: number[]
}

/** Latencies kept per instance and interval: enough for a median. */
const MAX_LATENCIES = 512

function median (values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b)
  return sorted[sorted.length >> 1] as number
}

/**
 * Passive health (Envoy's outlier detection): consecutive 5xx or connection failures eject an
 * instance at once; every interval, an instance with too high a share of failures, or whose
 * median latency has been latencyFactor × the others' for latencyIntervals intervals in a row (a
 * gray failure: slow, not dead), is ejected too. In a row, because one slow interval is what a
 * pause looks like: a garbage collection or a spell of throttling on a small CPU share stalls an
 * instance for a few hundred ms, and ejecting it then moves its share onto the others, which
 * overloads them. An interval too quiet to judge neither extends nor ends the run.
 * Ejections last base × 2^(streak − 1), capped; never more than maxEjectedPercent of the
 * instances at once, so a fleet-wide problem does not empty the pool. The streak counts recent
 * ejections, not all of them: it drops by one for every base ejection time the instance then stays
 * in rotation (as Envoy's multiplier does). A lifetime count would make an instance that was
 * ejected a few times under an overload hours ago sit out for the maximum on its next slow half
 * second, while the others carry its share.
 */
export class OutlierDetector {
  readonly #options: OutlierOptions
  readonly #consecutive = new WeakMap<Upstream, number>()
  readonly #intervals = new Map<Upstream, Interval>()
  /** Recent ejections per instance, and when the streak last changed. */
  readonly #streaks = new WeakMap<Upstream, { count: number, changedAt: number }>()
  /** Judged intervals in a row in which the instance was a latency outlier. */
  readonly #slowIntervals = new WeakMap<Upstream, number>()
  /** Told of each ejection decided by a sweep, with the reason (the cluster logs it). */
  onEject: ((upstream: Upstream, reason: string) => void) | undefined

  constructor (options: OutlierOptions) {
    this.#options = options
  }

  #interval (upstream: Upstream): Interval {
    let interval = this.#intervals.get(upstream)
    if (interval === undefined) this.#intervals.set(upstream, interval = { requests: 0, failures: 0, latencies: [] })
    return interval
  }

  onSuccess (upstream: Upstream): void {
    this.#interval(upstream).requests++
    if (this.#consecutive.get(upstream) !== 0) this.#consecutive.set(upstream, 0)
  }

  /** Time to response headers of one answer. */
  onLatency (upstream: Upstream, ms: number): void {
    const latencies = this.#interval(upstream).latencies
    if (latencies.length < MAX_LATENCIES) latencies.push(ms)
  }

  /** Returns true when this failure ejected the instance. */
  onFailure (upstream: Upstream, all: readonly Upstream[], now: number): boolean {
    const interval = this.#interval(upstream)
    interval.requests++
    interval.failures++
    const failures = (this.#consecutive.get(upstream) ?? 0) + 1
    this.#consecutive.set(upstream, failures)
    if (failures < this.#options.consecutiveFailures) return false
    const ejected = this.#eject(upstream, all, now, 'consecutive')
    if (ejected) this.onEject?.(upstream, `${failures} failure${failures === 1 ? '' : 's'} in a row`)
    return ejected
  }

  /** Ejections in a row that still count towards the next ejection's length. */
  streak (upstream: Upstream, now: number): number {
    const streak = this.#streaks.get(upstream)
    if (streak === undefined) return 0
    // Time back in rotation since the streak last changed: one step down per base ejection time.
    const inRotationMs = now - Math.max(streak.changedAt, upstream.ejectedUntil)
    if (inRotationMs < this.#options.baseEjectionMs || streak.count === 0) return streak.count
    const steps = Math.min(streak.count, Math.floor(inRotationMs / this.#options.baseEjectionMs))
    streak.count -= steps
    streak.changedAt = Math.max(streak.changedAt, upstream.ejectedUntil) + steps * this.#options.baseEjectionMs
    return streak.count
  }

  #eject (upstream: Upstream, all: readonly Upstream[], now: number, reason: EjectionReason): boolean {
    if (upstream.ejectedUntil > now) return false
    const ejected = all.filter((u) => u.ejectedUntil > now).length
    if ((ejected + 1) / all.length * 100 > this.#options.maxEjectedPercent) return false
    upstream.ejections++
    upstream.ejectionsBy[reason]++
    const streak = this.streak(upstream, now) + 1
    this.#streaks.set(upstream, { count: streak, changedAt: now })
    const duration = Math.min(this.#options.maxEjectionMs, this.#options.baseEjectionMs * 2 ** (streak - 1))
    upstream.ejectedUntil = now + duration
    // Back in rotation after the ejection, it ramps up again (slow start).
    upstream.readySince = upstream.ejectedUntil
    this.#consecutive.set(upstream, 0)
    return true
  }

  /** Judges the interval that just ended (failure percentage, then latency) and starts the next. */
  sweep (all: readonly Upstream[], now: number): void {
    const { minRequests = 10, failurePercentage = 0, latencyFactor = 0, latencyMinExtraMs = 0, latencyIntervals = 1 } = this.#options
    const medians: Array<[Upstream, number]> = []
    for (const u of all) {
      const interval = this.#intervals.get(u)
      if (interval === undefined || interval.requests < minRequests) continue
      const percent = interval.failures / interval.requests * 100
      if (failurePercentage > 0 && percent >= failurePercentage) {
        if (this.#eject(u, all, now, 'failure_rate')) this.onEject?.(u, `${Math.round(percent)} % of its last ${interval.requests} requests failed`)
        continue
      }
      if (interval.latencies.length >= minRequests) medians.push([u, median(interval.latencies)])
    }
    this.#intervals.clear()
    if (latencyFactor <= 0 || medians.length < 2) return
    for (const [u, ms] of medians) {
      const reference = median(medians.filter(([other]) => other !== u).map(([, m]) => m))
      if (ms < reference * latencyFactor || ms - reference < latencyMinExtraMs) {
        this.#slowIntervals.delete(u)
        continue
      }
      const inARow = (this.#slowIntervals.get(u) ?? 0) + 1
      this.#slowIntervals.set(u, inARow)
      if (inARow < latencyIntervals) continue
      if (this.#eject(u, all, now, 'latency')) {
        this.#slowIntervals.delete(u)
        this.onEject?.(u, `median latency ${ms.toFixed(1)} ms against ${reference.toFixed(1)} ms for the others${inARow > 1 ? `, ${inARow} intervals in a row` : ''}`)
      }
    }
  }
}
