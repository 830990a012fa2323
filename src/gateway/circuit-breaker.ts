export interface CircuitBreakerOptions {
  /** Requests in flight on the instance before new ones wait. */
  readonly maxConcurrent?: number
  /** Requests allowed to wait for a slot; beyond that they are refused at once. */
  readonly maxPending?: number
  /** Consecutive failures that open the breaker. */
  readonly failureThreshold?: number
  /** How long an open breaker refuses before letting one probe through (half-open). */
  readonly openMs?: number
}

export type BreakerState = 'closed' | 'open' | 'half-open'

/**
 * A per-instance circuit breaker. Concurrency limits (max concurrent + max pending) protect a busy
 * instance; the failure state machine (closed → open → half-open → closed) protects callers from a
 * failing one.
 */
export class CircuitBreaker {
  readonly maxConcurrent: number
  readonly maxPending: number
  readonly #failureThreshold: number
  readonly #openMs: number
  #state: BreakerState = 'closed'
  #openedAt = 0
  #consecutiveFailures = 0
  #probeInFlight = false

  constructor (options: CircuitBreakerOptions = {}) {
    this.maxConcurrent = options.maxConcurrent ?? 1024
    this.maxPending = options.maxPending ?? 1024
    this.#failureThreshold = options.failureThreshold ?? 5
    this.#openMs = options.openMs ?? 5000
  }

  state (now: number): BreakerState {
    if (this.#state === 'open' && now - this.#openedAt >= this.#openMs) this.#state = 'half-open'
    return this.#state
  }

  /** Whether a new request may be sent now; in half-open, only one probe at a time. */
  allows (now: number): boolean {
    const state = this.state(now)
    if (state === 'closed') return true
    if (state === 'half-open' && !this.#probeInFlight) return true
    return false
  }

  /** Call when a request is actually sent. */
  onSend (now: number): void {
    if (this.state(now) === 'half-open') this.#probeInFlight = true
  }

  onSuccess (): void {
    this.#consecutiveFailures = 0
    this.#probeInFlight = false
    this.#state = 'closed'
  }

  /** A request that ended without a verdict (cancelled, client gone): frees the half-open probe slot. */
  onCancel (): void {
    this.#probeInFlight = false
  }

  /** Back to closed with no failures counted (the instance passed its health checks again). */
  reset (): void {
    this.#state = 'closed'
    this.#consecutiveFailures = 0
    this.#probeInFlight = false
  }

  onFailure (now: number): void {
    this.#probeInFlight = false
    this.#consecutiveFailures++
    if (this.#state === 'half-open' || this.#consecutiveFailures >= this.#failureThreshold) {
      this.#state = 'open'
      this.#openedAt = now
    }
  }
}
