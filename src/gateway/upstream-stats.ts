/** Latency buckets (seconds) of the per-instance histogram. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10] as const

/**
 * Per-instance counters as plain numbers: the hot path only increments fields; upstream-metrics.ts
 * reads them when /__outgrow/metrics is scraped. (A prom-client label look-up per request
 * cost more than the rest of the bookkeeping together.)
 */
export class UpstreamStats {
  /** Responses by status class: index 1 → 1xx … 5 → 5xx. */
  readonly responses = [0, 0, 0, 0, 0, 0]
  readonly failures: Record<'connect' | 'timeout' | 'reset' | 'status', number> = { connect: 0, timeout: 0, reset: 0, status: 0 }
  /** Cumulative-at-render histogram: counts per bucket, plus the +Inf overflow at the end. */
  readonly latencyCounts = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0)
  /** Requests that failed here and were retried on another instance. */
  retriedElsewhere = 0
  latencySum = 0
  latencyCount = 0

  response (statusCode: number): void {
    const cls = (statusCode / 100) | 0
    if (cls >= 1 && cls <= 5) (this.responses[cls] as number)++
  }

  latency (seconds: number): void {
    let i = 0
    while (i < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[i] as number)) i++
    ;(this.latencyCounts[i] as number)++
    this.latencySum += seconds
    this.latencyCount++
  }
}
