/**
 * Second-by-second accounting for the open-loop generator: what was offered and answered each
 * second, the p99 of the requests due that second (latency from their intended send time), the
 * failures among them, and how many instances ran.
 */

export interface InstanceCount {
  /** Instances ready to serve. */
  readonly ready: number
  /** Instances that exist, starting ones included: what the fleet costs. */
  readonly running: number
}

export interface SecondSample {
  /** Seconds from the start of the run. */
  readonly second: number
  /** Requests due in this second. */
  readonly offered: number
  /** Answers (2xx–4xx) that arrived in this second. */
  readonly achieved: number
  /** p99 latency of the requests due in this second, from their intended send time; 0 when none completed. */
  readonly p99Ms: number
  /** p50 latency of the same requests (ms); absent in reports written before it was recorded. */
  readonly p50Ms?: number
  /** Requests due in this second that failed (5xx, network error, time-out). */
  readonly failed: number
  readonly instances: InstanceCount | undefined
}

/** Nearest-rank percentile (q in 0..100) of values; 0 for none. */
export function percentile (values: readonly number[], q: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil((q / 100) * sorted.length))
  return sorted[rank - 1] as number
}

interface Bucket {
  offered: number
  achieved: number
  failed: number
  latenciesMs: number[]
  instances: InstanceCount | undefined
}

export class PerSecondRecorder {
  readonly #buckets: Bucket[] = []

  #bucket (second: number): Bucket {
    const s = Math.max(0, Math.floor(second))
    while (this.#buckets.length <= s) this.#buckets.push({ offered: 0, achieved: 0, failed: 0, latenciesMs: [], instances: undefined })
    return this.#buckets[s] as Bucket
  }

  sent (dueSecond: number): void { this.#bucket(dueSecond).offered++ }

  /** A request due in dueSecond came back at arrivedSecond after latencyMs. */
  completed (dueSecond: number, arrivedSecond: number, latencyMs: number, outcome: 'answered' | 'failed'): void {
    const due = this.#bucket(dueSecond)
    due.latenciesMs.push(latencyMs)
    if (outcome === 'failed') due.failed++
    else this.#bucket(arrivedSecond).achieved++
  }

  /** The instance count at the start of a second (the first reading of it wins). */
  instances (second: number, count: InstanceCount): void {
    const b = this.#bucket(second)
    b.instances ??= count
  }

  /** One sample per second of the run, the seconds after its end (the drain) left out. */
  samples (durationSeconds: number): SecondSample[] {
    const seconds = Math.ceil(durationSeconds)
    this.#bucket(seconds - 1)
    return this.#buckets.slice(0, seconds).map((b, second) => ({
      second, offered: b.offered, achieved: b.achieved, p99Ms: percentile(b.latenciesMs, 99), p50Ms: percentile(b.latenciesMs, 50), failed: b.failed, instances: b.instances,
    }))
  }
}
