import type { RouteConfig } from '../config/gateway-config.js'
import type { Upstream } from './upstream.js'

const WINDOW = 256
/** Responses seen before the p99 is trusted; until then a try gets capMs. */
const MIN_SAMPLES = 20
const RECOMPUTE_EVERY = 32

/** The last WINDOW times to response headers of one route on one instance, and their p99. */
class LatencyWindow {
  readonly #samples = new Float64Array(WINDOW)
  #count = 0
  #sinceRecompute = 0
  p99 = 0

  add (ms: number): void {
    this.#samples[this.#count % WINDOW] = ms
    this.#count++
    if (++this.#sinceRecompute >= RECOMPUTE_EVERY || this.#count === MIN_SAMPLES) this.#recompute()
  }

  get trusted (): boolean { return this.#count >= MIN_SAMPLES }

  #recompute (): void {
    this.#sinceRecompute = 0
    const n = Math.min(this.#count, WINDOW)
    const sorted = this.#samples.slice(0, n).sort()
    this.p99 = sorted[Math.min(n - 1, Math.floor(n * 0.99))] as number
  }
}

/**
 * Per-try timeouts of one route, from what the gateway observes: the route's recent p99 on the
 * instance × a multiplier, within a floor and a cap; a fixed value when configured. Only answers
 * are observed — time-outs are not latencies, so a dead instance cannot talk its timeout up.
 */
export class PerTryTimeouts {
  readonly #config: RouteConfig['perTryTimeout']
  readonly #windows = new WeakMap<Upstream, LatencyWindow>()

  constructor (config: RouteConfig['perTryTimeout']) {
    this.#config = config
  }

  observe (upstream: Upstream, ms: number): void {
    if (this.#config.fixedMs !== undefined) return
    let window = this.#windows.get(upstream)
    if (window === undefined) this.#windows.set(upstream, window = new LatencyWindow())
    window.add(ms)
  }

  /**
   * How long a try on this instance may wait for response headers. The learned p99 applies only
   * to a try that another can overtake (`early`: an idempotent request, retried or hedged
   * elsewhere, with another instance there to take it); any other request waits up to the cap — a
   * keyed write too, whose copy elsewhere would only find the first one still in progress, and any
   * request to a fleet of one, whose copy would land on the same busy instance. Giving it up sooner frees nothing: the
   * instance still acts on it, and the client only loses the answer (a login whose session is written after its 504). A route's p99
   * is mostly that of its quick requests, so a slower kind of request on it (a login hashing a
   * password, on a busy machine) would otherwise be cut off while working normally.
   */
  timeoutFor (upstream: Upstream, early = true): number {
    const c = this.#config
    if (c.fixedMs !== undefined) return c.fixedMs
    const window = this.#windows.get(upstream)
    if (!early || window === undefined || !window.trusted) return c.capMs
    return Math.min(c.capMs, Math.max(c.floorMs, Math.ceil(window.p99 * c.p99Multiplier)))
  }
}
