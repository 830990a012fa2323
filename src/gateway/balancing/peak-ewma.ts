import type { Upstream } from '../upstream.js'
import { eligible, type Balancer, type PickContext } from './balancer.js'

/**
 * Latency-aware balancing (peak EWMA, as in Finagle and Linkerd): cost = latency EWMA × (active + 1)
 * / weight; the cheapest eligible instance wins. The EWMA is read decayed for the time since the
 * instance last answered, so one that was slow once and then starved of requests is tried again. Instances with no latency yet cost as much as the
 * fastest known one, so a newcomer is tried without being flooded. Outlier detection should be on:
 * an instance that fails fast looks fast.
 */
export class PeakEwma implements Balancer {
  readonly name = 'peak-ewma'

  pick (upstreams: readonly Upstream[], context: PickContext): Upstream | undefined {
    let fastestKnown = Infinity
    for (const u of upstreams) {
      const ewma = u.latencyEwmaMsAt(context.now)
      if (ewma > 0 && ewma < fastestKnown) fastestKnown = ewma
    }
    if (fastestKnown === Infinity) fastestKnown = 1
    let best: Upstream | undefined
    let bestCost = Infinity
    for (const upstream of upstreams) {
      if (!eligible(upstream, context)) continue
      const ewma = upstream.latencyEwmaMsAt(context.now)
      const latency = ewma > 0 ? ewma : fastestKnown
      const cost = latency * (upstream.active + 1) / upstream.effectiveWeight(context.now)
      if (cost < bestCost) {
        best = upstream
        bestCost = cost
      }
    }
    return best
  }
}
