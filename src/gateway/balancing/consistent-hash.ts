import type { Upstream } from '../upstream.js'
import { eligible, hash32, type Balancer, type PickContext } from './balancer.js'

const POINTS_PER_WEIGHT = 160

/**
 * Consistent hashing on a ring of virtual nodes, with bounded load (HAProxy's
 * hash-balance-factor, Google's "consistent hashing with bounded loads"): a key goes to the first
 * instance clockwise from its hash whose requests in flight stay under factor × the average. Adding
 * an instance moves about 1/N of the keys; a hot key spills to the next instances instead of
 * melting one. `keyOf` chooses the key: the client IP (IP hash) or a header, cookie or path segment.
 */
export class ConsistentHash implements Balancer {
  readonly name: string
  readonly #keyOf: (context: PickContext) => string
  readonly #balanceFactor: number
  #points = new Uint32Array(0)
  #owners: Upstream[] = []
  #members: readonly Upstream[] = []

  constructor (options: { name?: string, keyOf?: (context: PickContext) => string, balanceFactor?: number } = {}) {
    this.name = options.name ?? 'consistent-hash'
    this.#keyOf = options.keyOf ?? ((context) => context.hashKey ?? context.clientIp)
    this.#balanceFactor = options.balanceFactor ?? 0
  }

  rebuild (upstreams: readonly Upstream[]): void {
    const entries: Array<[number, Upstream]> = []
    for (const upstream of upstreams) {
      const points = Math.max(1, Math.round(POINTS_PER_WEIGHT * upstream.weight))
      for (let i = 0; i < points; i++) entries.push([hash32(`${upstream.id}#${i}`), upstream])
    }
    entries.sort((a, b) => a[0] - b[0])
    this.#points = Uint32Array.from(entries.map((e) => e[0]))
    this.#owners = entries.map((e) => e[1])
    this.#members = upstreams
  }

  pick (upstreams: readonly Upstream[], context: PickContext): Upstream | undefined {
    if (upstreams !== this.#members) this.rebuild(upstreams)
    const points = this.#points
    if (points.length === 0) return undefined
    const h = hash32(this.#keyOf(context))
    // First point at or after h (binary search), wrapping around.
    let lo = 0
    let hi = points.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((points[mid] as number) < h) lo = mid + 1
      else hi = mid
    }
    const limit = this.#loadLimit(upstreams, context)
    const seen = new Set<Upstream>()
    for (let i = 0; i < points.length && seen.size < upstreams.length; i++) {
      const owner = this.#owners[(lo + i) % points.length] as Upstream
      if (seen.has(owner)) continue
      seen.add(owner)
      if (eligible(owner, context) && owner.active < limit) return owner
    }
    return undefined
  }

  /** With a balance factor f: ceil(f × (in flight + 1) / eligible instances); otherwise no limit. */
  #loadLimit (upstreams: readonly Upstream[], context: PickContext): number {
    if (this.#balanceFactor <= 0) return Infinity
    let total = 0
    let count = 0
    for (const u of upstreams) {
      if (!eligible(u, context)) continue
      total += u.active
      count++
    }
    return count === 0 ? Infinity : Math.ceil(this.#balanceFactor * (total + 1) / count)
  }
}
