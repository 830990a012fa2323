import type { Balancer, PickContext } from './balancer.js'
import { ConsistentHash } from './consistent-hash.js'
import { LeastRequests, PowerOfTwoChoices } from './least-requests.js'
import { PeakEwma } from './peak-ewma.js'
import { SmoothWeightedRoundRobin } from './round-robin.js'
import { Sticky } from './sticky.js'

export type { Balancer, PickContext } from './balancer.js'

export { BALANCER_NAMES, type BalancerName } from '../../config/gateway-config.js'
import type { BalancerName } from '../../config/gateway-config.js'

export interface BalancerOptions {
  /** consistent-hash: bounded-load factor (e.g. 1.25); 0 turns the bound off. */
  readonly balanceFactor?: number
  /** sticky: the cookie that names the instance. */
  readonly cookieName?: string
}

/** The balancer family, resolved by name. */
export function createBalancer (name: BalancerName, options: BalancerOptions = {}): Balancer {
  switch (name) {
    case 'round-robin': return new SmoothWeightedRoundRobin()
    case 'least-requests':
    case 'least-connections': return new LeastRequests()
    case 'p2c': return new PowerOfTwoChoices()
    case 'peak-ewma': return new PeakEwma()
    case 'ip-hash': return new ConsistentHash({ name: 'ip-hash', keyOf: (c: PickContext) => c.clientIp, balanceFactor: options.balanceFactor ?? 0 })
    case 'consistent-hash': return new ConsistentHash({ balanceFactor: options.balanceFactor ?? 1.25 })
    case 'sticky': return new Sticky(new SmoothWeightedRoundRobin(), options.cookieName)
  }
}
