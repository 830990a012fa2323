import * as hdr from 'hdr-histogram-js'

/**
 * The p99 of the last few seconds, for a live progress line: two histograms that take turns, so
 * the answer covers between one and two windows of recent completions and costs one record per
 * request (no sorting on the hot path).
 */
export class RecentLatency {
  readonly #windowMs: number
  readonly #now: () => number
  #current = newHistogram()
  #previous = newHistogram()
  #rotatedAt: number

  constructor (windowMs = 2000, now: () => number = () => performance.now()) {
    this.#windowMs = windowMs
    this.#now = now
    this.#rotatedAt = now()
  }

  record (latencyMs: number): void {
    this.#rotate()
    this.#current.recordValue(Math.max(1, Math.round(latencyMs * 1000)))
  }

  /** p99 in ms of the completions of the current and the previous window; 0 when there were none. */
  p99Ms (): number {
    this.#rotate()
    const merged = newHistogram()
    merged.add(this.#previous)
    merged.add(this.#current)
    return merged.totalCount === 0 ? 0 : Math.round(merged.getValueAtPercentile(99)) / 1000
  }

  #rotate (): void {
    const now = this.#now()
    if (now - this.#rotatedAt < this.#windowMs) return
    // A gap longer than two windows leaves nothing recent.
    const stale = now - this.#rotatedAt >= 2 * this.#windowMs
    const reused = this.#previous
    reused.reset()
    this.#previous = stale ? newHistogram() : this.#current
    this.#current = reused
    this.#rotatedAt = now
  }
}

function newHistogram (): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 2 })
}
