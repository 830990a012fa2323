import type { GatewayConfig } from '../config/gateway-config.js'
import { HealthChecker } from './health-checker.js'
import { OutlierDetector } from './outlier-detector.js'
import { socketOptionsAvailable } from './socket-options.js'
import { Upstream } from './upstream.js'

export interface InstanceSpec { readonly id: string, readonly url: string, readonly weight?: number }

/** The upstreams section with `client: 'auto'` already resolved (server.ts). */
export type UpstreamsConfig = Omit<GatewayConfig['upstreams'], 'client'> & { readonly client: 'native' | 'undici' }

/** Where one-line notices go: health transitions of instances. */
export type GatewayLog = (line: string) => void

export const stderrLog: GatewayLog = (line) => { process.stderr.write(`outgrow gateway: ${line}\n`) }

/**
 * The instances behind a gateway and their lifecycle: joining (health-checked, then slow start),
 * passive and active health, and leaving by draining — no new requests, in-flight ones finish,
 * then the pool closes. `members` is replaced, never mutated, so balancers can tell it changed.
 */
export class UpstreamCluster {
  members: readonly Upstream[] = []
  readonly outliers: OutlierDetector
  readonly #config: UpstreamsConfig
  readonly #checker: HealthChecker
  readonly #draining = new Set<Upstream>()
  readonly #log: GatewayLog
  #sweeper: NodeJS.Timeout | undefined

  constructor (config: UpstreamsConfig, log: GatewayLog = stderrLog) {
    this.#config = config
    this.#log = log
    // Loaded now, not on the first connection, whose health check it would delay.
    if (config.tcp.userTimeoutMs > 0 && !socketOptionsAvailable()) this.#log('net-keepalive could not be loaded: upstream sockets get keep-alive without TCP_USER_TIMEOUT (per-try timeouts still bound every request)')
    this.outliers = new OutlierDetector(config.outlierDetection)
    this.outliers.onEject = (u, reason) => { this.#log(`instance ${u.id} (${u.url}) ejected until ${new Date(u.ejectedUntil).toISOString()}: ${reason}`) }
    this.#checker = new HealthChecker(() => this.members, config.healthCheck)
  }

  get draining (): ReadonlySet<Upstream> { return this.#draining }

  async start (): Promise<void> {
    await this.#checker.checkAll()
    this.#checker.start()
    this.#sweeper = setInterval(() => { this.outliers.sweep(this.members, Date.now()) }, this.#config.outlierDetection.intervalMs)
    this.#sweeper.unref()
  }

  /** Adds an instance, or updates its URL or weight. A new instance starts with a health check. */
  async upsert (spec: InstanceSpec): Promise<Upstream> {
    const existing = this.members.find((u) => u.id === spec.id)
    if (existing !== undefined && existing.url === spec.url) {
      existing.weight = spec.weight ?? existing.weight
      return existing
    }
    if (existing !== undefined) this.remove(existing.id)
    const upstream = new Upstream(spec.id, spec.url, {
      weight: spec.weight,
      connections: this.#config.connections,
      connectTimeoutMs: this.#config.connectTimeoutMs,
      slowStartMs: this.#config.slowStartMs,
      breaker: this.#config.circuitBreaker,
      client: this.#config.client,
      tcp: this.#config.tcp,
    })
    // Without this line a gateway whose instances all fail their checks answers 503 in silence.
    upstream.onHealthChange = (healthy, reason) => { this.#log(`instance ${upstream.id} (${upstream.url}) is ${healthy ? 'healthy' : 'unhealthy'}: ${reason}`) }
    if (this.members.length > 0) {
      // Joining a running cluster: in rotation once it answers one health check.
      const probe = await this.#checker.probe(upstream)
      upstream.setHealth(probe.ok, probe.reason)
      upstream.readySince = Date.now()
    }
    this.members = [...this.members, upstream]
    return upstream
  }

  /** Takes an instance out of rotation and closes it once its in-flight requests are done. */
  remove (id: string): boolean {
    const upstream = this.members.find((u) => u.id === id)
    if (upstream === undefined) return false
    upstream.draining = true
    this.members = this.members.filter((u) => u !== upstream)
    this.#draining.add(upstream)
    const deadline = Date.now() + this.#config.drainTimeoutMs
    const finish = (): void => {
      if (upstream.active > 0 && Date.now() < deadline) {
        setTimeout(finish, 50).unref()
        return
      }
      this.#draining.delete(upstream)
      void upstream.close().catch(() => { upstream.destroy() })
    }
    finish()
    return true
  }

  async close (): Promise<void> {
    this.#checker.stop()
    clearInterval(this.#sweeper)
    await Promise.allSettled([...this.members, ...this.#draining].map(async (u) => { await u.close() }))
  }
}
