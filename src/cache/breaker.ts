/** closed: calls go to Redis; open: none do; half-open: one probe call does. */
export type BreakerState = 'closed' | 'open' | 'half-open'

export interface CacheBreakerOptions {
  /** Consecutive failed calls that open the breaker. */
  readonly failures: number
  /** How long it stays open before one probe call may try again. */
  readonly openMs: number
  /** The clock, for tests. */
  readonly now?: () => number
  readonly onChange?: (state: BreakerState) => void
}

/**
 * The cache's circuit breaker: after `failures` consecutive failed Redis calls it opens, and the
 * cache answers every get as a miss (the caller loads from the database) without asking Redis,
 * so a dead or failing-over Redis costs requests nothing. After `openMs` one call is let through
 * (half-open): its success closes the breaker, its failure opens it again for another `openMs`.
 */
export class CacheBreaker {
  readonly #options: CacheBreakerOptions
  readonly #now: () => number
  #state: BreakerState = 'closed'
  #failures = 0
  #openedAt = 0
  #probing = false

  constructor (options: CacheBreakerOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  get state (): BreakerState { return this.#state }

  /** Whether a call may go to Redis now; in half-open, only the one probe may. */
  allow (): boolean {
    if (this.#state === 'closed') return true
    if (this.#state === 'open') {
      if (this.#now() - this.#openedAt < this.#options.openMs) return false
      this.#set('half-open')
    }
    if (this.#probing) return false
    this.#probing = true
    return true
  }

  success (): void {
    this.#failures = 0
    this.#probing = false
    this.#set('closed')
  }

  failure (): void {
    this.#failures++
    if (this.#state === 'half-open' || (this.#state === 'closed' && this.#failures >= this.#options.failures)) {
      this.#probing = false
      this.#openedAt = this.#now()
      this.#set('open')
    }
  }

  #set (state: BreakerState): void {
    if (state === this.#state) return
    this.#state = state
    this.#options.onChange?.(state)
  }
}
