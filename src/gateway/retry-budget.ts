/**
 * Envoy's retry budget: retries in flight may be at most budgetPercent of the requests in flight
 * (but always minRetryConcurrency), so a sick fleet sees a bounded extra load, not a retry storm.
 */
export class RetryBudget {
  readonly #percent: number
  readonly #minConcurrency: number
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

  endRetry (): void {
    this.retriesInFlight--
  }
}
