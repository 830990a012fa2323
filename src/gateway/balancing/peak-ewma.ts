import type { Upstream } from '../upstream.js'
import { eligible, type Balancer, type PickContext } from './balancer.js'

/**
 * Latency-aware balancing (peak EWMA, as in Finagle and Linkerd): cost = latency EWMA × (active + 1)
 * / weight; the cheapest eligible instance wins. Instances with no latency yet cost as much as the
 * fastest known one, so a newcomer is tried without being flooded. Outlier detection should be on:
 * an instance that fails fast looks fast.
 */
export class PeakEwma implements Balancer {
  readonly name = 'peak-ewma'

  pick (upstreams: readonly Upstream[], context: PickContext): Upstream | undefined {
    let fastestKnown = Infinity
    for (const u of upstreams) if (u.latencyEwmaMs > 0 && u.latencyEwmaMs < fastestKnown) fastestKnown = u.latencyEwmaMs
    if (fastestKnown === Infinity) fastestKnown = 1
    let best: Upstream | undefined
    let bestCost = Infinity
    for (const upstream of upstreams) {
      if (!eligible(upstream, context)) continue
      const latency = upstream.latencyEwmaMs > 0 ? upstream.latencyEwmaMs : fastestKnown
      const cost = latency * (upstream.active + 1) / upstream.effectiveWeight(context.now)
      if (cost < bestCost) {
        best = upstream
        bestCost = cost
      }
    }
    return best
  }
}
