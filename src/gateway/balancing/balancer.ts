import type { Upstream } from '../upstream.js'

/** What a balancer may look at for one request. */
export interface PickContext {
  readonly now: number
  readonly clientIp: string
  /** The hash key of consistent hashing (from a header, cookie or path segment). */
  readonly hashKey: string | undefined
  /** The instance named by the sticky-session cookie. */
  readonly stickyId: string | undefined
  /** Instances already tried for this request (retries go elsewhere). */
  readonly exclude: ReadonlySet<Upstream> | undefined
  /**
   * Panic (Envoy's panic threshold): no instance was eligible, so open breakers and ejections are
   * overlooked — passive verdicts must never leave a fleet of healthy instances with none to use.
   */
  readonly panic?: boolean
}

/** Chooses an instance among those that may take a request now; undefined when none may. */
export interface Balancer {
  readonly name: string
  pick(upstreams: readonly Upstream[], context: PickContext): Upstream | undefined
  /** Membership changed: rebuild whatever the balancer derives from the member list. */
  rebuild?(upstreams: readonly Upstream[]): void
}

/** An instance that is healthy, not ejected or draining, not excluded, and whose breaker lets a request through. */
export function eligible (upstream: Upstream, context: PickContext): boolean {
  if (context.panic === true) {
    return upstream.healthy && !upstream.draining && context.exclude?.has(upstream) !== true &&
      upstream.active < upstream.breaker.maxConcurrent + upstream.breaker.maxPending
  }
  return upstream.available(context.now) && context.exclude?.has(upstream) !== true && upstream.breaker.allows(context.now) &&
    upstream.active < upstream.breaker.maxConcurrent + upstream.breaker.maxPending
}

/** 32-bit FNV-1a: fast, well spread for short keys; used for rings and IP hashing. */
export function hash32 (text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  // Final avalanche (from murmur3) so that similar keys land far apart on the ring.
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
