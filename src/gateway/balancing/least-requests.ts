import type { Upstream } from '../upstream.js'
import { eligible, type Balancer, type PickContext } from './balancer.js'

const load = (u: Upstream, now: number): number => (u.active + 1) / u.effectiveWeight(now)

/** Least outstanding requests (weighted): the eligible instance with the fewest requests in flight per unit of weight. */
export class LeastRequests implements Balancer {
  readonly name = 'least-requests'
  #offset = 0

  pick (upstreams: readonly Upstream[], context: PickContext): Upstream | undefined {
    const count = upstreams.length
    let best: Upstream | undefined
    let bestLoad = Infinity
    // Scanning from a rotating offset breaks ties in turn, so idle instances share the load.
    this.#offset = (this.#offset + 1) % Math.max(1, count)
    for (let i = 0; i < count; i++) {
      const upstream = upstreams[(this.#offset + i) % count] as Upstream
      if (!eligible(upstream, context)) continue
      const l = load(upstream, context.now)
      if (l < bestLoad) {
        best = upstream
        bestLoad = l
      }
    }
    return best
  }
}

/**
 * Power of two random choices: two eligible instances at random, the less loaded wins. Nearly as
 * good as least-requests, O(1), and without the herd effect of every gateway process choosing the
 * same "least loaded" instance at once.
 */
export class PowerOfTwoChoices implements Balancer {
  readonly name = 'p2c'
  readonly #random: () => number

  constructor (random: () => number = Math.random) {
    this.#random = random
  }

  pick (upstreams: readonly Upstream[], context: PickContext): Upstream | undefined {
    const candidates = upstreams.filter((u) => eligible(u, context))
    if (candidates.length <= 1) return candidates[0]
    const i = Math.floor(this.#random() * candidates.length)
    let j = Math.floor(this.#random() * (candidates.length - 1))
    if (j >= i) j++
    const a = candidates[i] as Upstream
    const b = candidates[j] as Upstream
    return load(a, context.now) <= load(b, context.now) ? a : b
  }
}
