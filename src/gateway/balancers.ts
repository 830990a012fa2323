import type { Upstream } from './upstream.js'

/** Chooses an instance for a request among the healthy ones; undefined when none is. */
export interface Balancer {
  readonly name: string
  pick(upstreams: readonly Upstream[], exclude?: Upstream): Upstream | undefined
}

/** Each healthy instance in turn. */
export class RoundRobin implements Balancer {
  readonly name = 'round-robin'
  #next = 0

  pick (upstreams: readonly Upstream[], exclude?: Upstream): Upstream | undefined {
    const count = upstreams.length
    for (let i = 0; i < count; i++) {
      const candidate = upstreams[(this.#next + i) % count] as Upstream
      if (candidate.healthy && candidate !== exclude) {
        this.#next = (this.#next + i + 1) % count
        return candidate
      }
    }
    return undefined
  }
}

/** The healthy instance with the fewest requests in flight; ties rotate so load still spreads. */
export class LeastConnections implements Balancer {
  readonly name = 'least-connections'
  #offset = 0

  pick (upstreams: readonly Upstream[], exclude?: Upstream): Upstream | undefined {
    const count = upstreams.length
    let best: Upstream | undefined
    for (let i = 0; i < count; i++) {
      const candidate = upstreams[(this.#offset + i) % count] as Upstream
      if (!candidate.healthy || candidate === exclude) continue
      if (best === undefined || candidate.active < best.active) best = candidate
    }
    this.#offset = (this.#offset + 1) % Math.max(1, count)
    return best
  }
}

export type BalancerName = 'round-robin' | 'least-connections'

export function createBalancer (name: BalancerName): Balancer {
  switch (name) {
    case 'round-robin': return new RoundRobin()
    case 'least-connections': return new LeastConnections()
  }
}
