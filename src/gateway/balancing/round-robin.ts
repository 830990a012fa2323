import type { Upstream } from '../upstream.js'
import { eligible, type Balancer, type PickContext } from './balancer.js'

/**
 * Smooth weighted round robin (nginx's algorithm): every pick adds each eligible instance's
 * weight to its running score, takes the highest, and subtracts the total from it. Weights
 * 5:1:1 give a a b a c a a — spread out, not bunched. Slow start lowers the effective weight.
 */
export class SmoothWeightedRoundRobin implements Balancer {
  readonly name = 'round-robin'

  pick (upstreams: readonly Upstream[], context: PickContext): Upstream | undefined {
    let best: Upstream | undefined
    let total = 0
    for (const upstream of upstreams) {
      if (!eligible(upstream, context)) continue
      const weight = upstream.effectiveWeight(context.now)
      upstream.currentWeight += weight
      total += weight
      if (best === undefined || upstream.currentWeight > best.currentWeight) best = upstream
    }
    if (best !== undefined) best.currentWeight -= total
    return best
  }
}
