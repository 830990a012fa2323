import type { Upstream } from './upstream.js'

export interface OutlierOptions {
  readonly consecutiveFailures: number
  readonly baseEjectionMs: number
  readonly maxEjectionMs: number
  readonly maxEjectedPercent: number
}

/**
 * Passive health (Envoy's outlier detection): consecutive 5xx or connection failures eject an
 * instance for base × 2^(ejections − 1), capped; never more than maxEjectedPercent of the
 * instances at once, so a fleet-wide problem does not empty the pool.
 */
export class OutlierDetector {
  readonly #options: OutlierOptions
  readonly #consecutive = new WeakMap<Upstream, number>()

  constructor (options: OutlierOptions) {
    this.#options = options
  }

  onSuccess (upstream: Upstream): void {
    if (this.#consecutive.get(upstream) !== 0) this.#consecutive.set(upstream, 0)
  }

  /** Returns true when this failure ejected the instance. */
  onFailure (upstream: Upstream, all: readonly Upstream[], now: number): boolean {
    const failures = (this.#consecutive.get(upstream) ?? 0) + 1
    this.#consecutive.set(upstream, failures)
    if (failures < this.#options.consecutiveFailures || upstream.ejectedUntil > now) return false
    const ejected = all.filter((u) => u.ejectedUntil > now).length
    if ((ejected + 1) / all.length * 100 > this.#options.maxEjectedPercent) return false
    upstream.ejections++
    const duration = Math.min(this.#options.maxEjectionMs, this.#options.baseEjectionMs * 2 ** (upstream.ejections - 1))
    upstream.ejectedUntil = now + duration
    // Back in rotation after the ejection, it ramps up again (slow start).
    upstream.readySince = upstream.ejectedUntil
    this.#consecutive.set(upstream, 0)
    return true
  }
}
