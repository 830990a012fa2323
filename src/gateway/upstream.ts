import { Pool, buildConnector } from 'undici'
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.js'
import { UpstreamStats } from './upstream-stats.js'
import { NativePool, type DispatchOptions, type ResponseHandler } from './native-pool.js'
import { tuneUpstreamSocket, type TcpOptions } from './socket-options.js'

/** What proxied requests are sent through: undici's Pool, or the native-parser pool. */
export interface UpstreamDispatcher {
  dispatch(options: DispatchOptions, handler: ResponseHandler): unknown
  readonly signalsReadComplete?: boolean
}

export type UpstreamState = 'healthy' | 'unhealthy' | 'ejected' | 'draining'

export interface UpstreamOptions {
  readonly weight?: number
  readonly connections?: number
  readonly connectTimeoutMs?: number
  readonly slowStartMs?: number
  readonly breaker?: CircuitBreakerOptions
  readonly client?: 'undici' | 'native'
  readonly tcp?: TcpOptions
}

/** A request in flight on an instance that can be failed over when the instance becomes unreachable. */
export interface InFlightTry {
  instanceUnreachable(): void
}

/** undici's connector with the same socket options as the native pool's connections. */
function tunedConnector (timeout: number, tcp: TcpOptions | undefined): buildConnector.connector {
  const base = buildConnector({ timeout })
  return (options, callback) => base(options, (err, socket) => {
    if (err === null && tcp !== undefined) tuneUpstreamSocket(socket, tcp)
    ;(callback as (e: Error | null, s: unknown) => void)(err, socket)
  })
}

const EWMA_DECAY_MS = 10_000

/** Why outlier detection ejected an instance: failures in a row, a failure rate, or a latency outlier. */
export type EjectionReason = 'consecutive' | 'failure_rate' | 'latency'

/**
 * One instance behind the gateway: its keep-alive connection pool and everything the balancers,
 * health checks and outlier detection know about it.
 */
export class Upstream {
  readonly id: string
  readonly url: string
  /** undici pool: health checks, and proxied requests unless the native client is chosen. */
  readonly pool: Pool
  readonly dispatcher: UpstreamDispatcher
  readonly #native: NativePool | undefined
  readonly breaker: CircuitBreaker
  readonly stats = new UpstreamStats()
  /** Configured weight (smooth weighted round robin, slow start). */
  weight: number
  /** Requests in flight on this instance. */
  active = 0
  /**
   * Event streams (text/event-stream) open through this instance: answered, so not in `active`,
   * which the balancers read as load; a stream is an idle connection, not work in progress.
   */
  streams = 0
  /** Active health: set by the health checker (rise/fall). */
  healthy = true
  /** Passive health: ejected by outlier detection until this time (ms since epoch). */
  ejectedUntil = 0
  ejections = 0
  /** Ejections by what outlier detection saw (they add up to `ejections`). */
  readonly ejectionsBy: Record<EjectionReason, number> = { consecutive: 0, failure_rate: 0, latency: 0 }
  /** No new requests; in-flight ones finish. */
  draining = false
  /** When the instance (re)entered rotation, for slow start. */
  readySince: number
  readonly slowStartMs: number
  /** Peak EWMA of latency in ms: jumps up at once on a slow response, decays slowly. */
  #ewmaMs = 0
  #ewmaAt = 0
  #successes = 0
  #failures = 0
  /** Smooth weighted round robin state. */
  currentWeight = 0
  /**
   * Bumped at every change of `healthy`: the outcome of a try sent before it is old news, and never
   * opens the breaker or ejects an instance that has since passed (or failed) its checks.
   */
  healthEpoch = 0
  /** When a proxied request last got response headers (epoch ms). */
  lastAnswerAt = 0
  /** When the current streak of failed checks began (epoch ms). */
  #failingSince = 0
  /** Tries in flight that can be failed over (replayable, no answer yet). */
  readonly inFlight = new Set<InFlightTry>()
  /** Told of every change of `healthy`, with the reason (the cluster logs it). */
  onHealthChange: ((healthy: boolean, reason: string) => void) | undefined

  constructor (id: string, url: string, options: UpstreamOptions = {}) {
    this.id = id
    this.url = url
    this.weight = options.weight ?? 1
    this.slowStartMs = options.slowStartMs ?? 0
    this.readySince = Date.now() - this.slowStartMs
    this.breaker = new CircuitBreaker(options.breaker)
    this.pool = new Pool(url, {
      connections: options.connections ?? 128,
      keepAliveTimeout: 30_000,
      connect: tunedConnector(options.connectTimeoutMs ?? 2000, options.tcp),
      headersTimeout: 0,
      bodyTimeout: 0,
    })
    this.#native = options.client === 'native' ? new NativePool(url, { connections: options.connections ?? 128, connectTimeoutMs: options.connectTimeoutMs ?? 2000, tcp: options.tcp }) : undefined
    this.dispatcher = this.#native ?? this.pool
  }

  get state (): UpstreamState {
    if (this.draining) return 'draining'
    if (!this.healthy) return 'unhealthy'
    if (this.ejectedUntil > Date.now()) return 'ejected'
    return 'healthy'
  }

  /** May take new requests: healthy, not ejected, not draining. */
  available (now: number): boolean {
    return this.healthy && !this.draining && this.ejectedUntil <= now
  }

  /** Weight with slow start applied: ramps linearly from 10 % to 100 % over slowStartMs. */
  effectiveWeight (now: number): number {
    if (this.slowStartMs <= 0) return this.weight
    const elapsed = now - this.readySince
    if (elapsed >= this.slowStartMs) return this.weight
    return this.weight * Math.max(0.1, elapsed / this.slowStartMs)
  }

  /** Records a response time for peak-EWMA balancing. */
  observeLatency (ms: number, now: number): void {
    if (ms > this.#ewmaMs || this.#ewmaAt === 0) {
      this.#ewmaMs = ms
    } else {
      const decay = Math.exp(-(now - this.#ewmaAt) / EWMA_DECAY_MS)
      this.#ewmaMs = this.#ewmaMs * decay + ms * (1 - decay)
    }
    this.#ewmaAt = now
  }

  get latencyEwmaMs (): number { return this.#ewmaMs }

  /**
   * The latency EWMA as of `now`, decayed towards zero for the time since the last answer (as
   * Finagle's peak EWMA reads it): an instance that got no requests after one slow spell would
   * otherwise keep its peak, stay the most expensive, and never be tried again to show it recovered.
   */
  latencyEwmaMsAt (now: number): number {
    if (this.#ewmaAt === 0 || now <= this.#ewmaAt) return this.#ewmaMs
    return this.#ewmaMs * Math.exp(-(now - this.#ewmaAt) / EWMA_DECAY_MS)
  }

  /**
   * Result of one active check; `rise` successes make it healthy, `fall` failures unhealthy.
   * `unreachable`: the check got no answer at all (time-out, connection error), not a bad status;
   * `startedAt`: when the check was sent.
   */
  recordCheck (ok: boolean, config: { rise: number, fall: number }, reason = ok ? 'check passed' : 'check failed', unreachable = false, startedAt = Date.now()): void {
    if (ok) {
      this.#failures = 0
      this.#successes++
      if (!this.healthy && this.#successes >= config.rise) {
        this.readySince = Date.now()
        this.#setHealthy(true, config.rise > 1 ? `${reason}, ${config.rise} checks in a row` : reason)
      }
    } else {
      this.#successes = 0
      if (this.#failures++ === 0) this.#failingSince = startedAt
      // Unreachable only if proxied requests got no answer either since the checks began failing:
      // an instance too busy for its /readyz but still answering keeps its requests.
      const silent = unreachable && this.lastAnswerAt < this.#failingSince
      if (this.healthy && this.#failures >= config.fall) this.#setHealthy(false, config.fall > 1 ? `${reason}, ${config.fall} checks in a row` : reason, silent)
    }
  }

  /** Unhealthy, but has passed at least one check since: on its way back. */
  get rising (): boolean { return !this.healthy && this.#successes > 0 }

  /** A refused connection takes the instance out at once; health checks bring it back. */
  markDown (reason = 'a proxied request\'s connection was refused'): void {
    this.#successes = 0
    if (this.healthy) this.#setHealthy(false, reason, true)
  }

  /** Sets health after a probe outside the check cycle (an instance joining a running cluster). */
  setHealth (ok: boolean, reason: string): void {
    if (ok !== this.healthy) this.#setHealthy(ok, reason)
  }

  #setHealthy (healthy: boolean, reason: string, unreachable = false): void {
    this.healthy = healthy
    this.healthEpoch++
    if (healthy) {
      // The checks are newer evidence than the failures that opened the breaker or ejected it.
      this.breaker.reset()
      this.ejectedUntil = 0
    } else if (unreachable) {
      // Requests waiting on an instance that no longer answers go elsewhere now, not at their time-out.
      for (const t of [...this.inFlight]) t.instanceUnreachable()
      this.#native?.dropIdle()
    }
    this.onHealthChange?.(healthy, reason)
  }

  async close (): Promise<void> {
    await Promise.all([this.pool.close(), this.#native?.close()])
  }

  destroy (): void {
    void this.pool.destroy()
    this.#native?.destroy()
  }
}
