/**
 * Per-key exponential back-off for retries (crashed processes, failed starts), as a process
 * manager paces restarts: 0.5 s, 1 s, 2 s … up to 30 s; a key that went a minute without failing
 * starts over at 0.5 s.
 */
export class Backoff {
  readonly #baseMs: number
  readonly #maxMs: number
  readonly #resetAfterMs: number
  readonly #state = new Map<string, { failures: number, lastFailureAt: number, notBefore: number }>()

  constructor (baseMs = 500, maxMs = 30_000, resetAfterMs = 60_000) {
    this.#baseMs = baseMs
    this.#maxMs = maxMs
    this.#resetAfterMs = resetAfterMs
  }

  /** Records a failure at `now`; returns the delay before the next attempt. */
  failure (key: string, now: number): number {
    const previous = this.#state.get(key)
    const failures = previous === undefined || now - previous.lastFailureAt > this.#resetAfterMs ? 1 : previous.failures + 1
    const delay = Math.min(this.#baseMs * 2 ** (failures - 1), this.#maxMs)
    this.#state.set(key, { failures, lastFailureAt: now, notBefore: now + delay })
    return delay
  }

  /** When the key may be tried again (0: now). */
  notBefore (key: string): number {
    return this.#state.get(key)?.notBefore ?? 0
  }

  forget (key: string): void {
    this.#state.delete(key)
  }
}
