/**
 * Envoy's retry budget: retries in flight may be at most budgetPercent of the requests in flight
 * (but always minRetryConcurrency), so a sick fleet sees a bounded extra load, not a retry storm.
 */
export class RetryBudget {
  readonly #percent: number
  readonly #minConcurrency: number
  readonly #waiting: Array<{ granted: () => void, refused: () => void }> = []
  requestsInFlight = 0
  retriesInFlight = 0
  retriesTotal = 0
  retriesRefused = 0

  constructor (percent: number, minConcurrency: number) {
    this.#percent = percent
    this.#minConcurrency = minConcurrency
  }

  /** Reserves a retry if the budget allows; release it with `endRetry`. */
  tryStartRetry (): boolean {
    const allowed = Math.max(this.#minConcurrency, Math.floor(this.requestsInFlight * this.#percent / 100))
    if (this.retriesInFlight + 1 > allowed) {
      this.retriesRefused++
      return false
    }
    this.retriesInFlight++
    this.retriesTotal++
    return true
  }

  /**
   * Queues for a retry slot when the budget is spent: `granted` runs (holding the slot) when a retry
   * in flight succeeds — one instance failing over to healthy ones (a burst of per-try time-outs)
   * loses no request. When a retry fails, the fleet is sick: every waiting request is `refused`,
   * so retries never exceed the budget's share. Returns the function that gives up the wait.
   */
  waitForRetry (granted: () => void, refused: () => void): () => void {
    const waiter = { granted, refused }
    this.#waiting.push(waiter)
    return () => {
      const i = this.#waiting.indexOf(waiter)
      if (i !== -1) this.#waiting.splice(i, 1)
    }
  }

  /** A retry ended; `succeeded`: it got an answer under 500. */
  endRetry (succeeded = true): void {
    const next = succeeded ? this.#waiting.shift() : undefined
    if (next !== undefined) {
      // The slot passes straight to the first waiting request.
      this.retriesTotal++
      next.granted()
      return
    }
    this.retriesInFlight--
    if (succeeded) return
    const refused = this.#waiting.splice(0)
    this.retriesRefused += refused.length
    for (const waiter of refused) waiter.refused()
  }
}
