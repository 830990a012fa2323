import type { HealthCheckConfig } from '../config/stack-config.js'
import type { Upstream } from './upstream.js'

/** Active health checks: GET config.path on every instance each interval, with a timeout. */
export class HealthChecker {
  readonly #members: () => readonly Upstream[]
  readonly #config: HealthCheckConfig
  #timer: NodeJS.Timeout | undefined

  constructor (members: () => readonly Upstream[], config: HealthCheckConfig) {
    this.#members = members
    this.#config = config
  }

  start (): void {
    this.#timer = setInterval(() => { void this.checkAll() }, this.#config.intervalMs)
    this.#timer.unref()
  }

  async checkAll (): Promise<void> {
    await Promise.all(this.#members().map(async (upstream) => { await this.check(upstream) }))
  }

  async check (upstream: Upstream): Promise<void> {
    upstream.recordCheck(await this.probe(upstream), this.#config)
  }

  async probe (upstream: Upstream): Promise<boolean> {
    try {
      const response = await upstream.pool.request({
        path: this.#config.path,
        method: 'GET',
        headersTimeout: this.#config.timeoutMs,
        bodyTimeout: this.#config.timeoutMs,
        signal: AbortSignal.timeout(this.#config.timeoutMs),
      })
      await response.body.dump()
      return response.statusCode === 200
    } catch {
      return false
    }
  }

  stop (): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
  }
}
