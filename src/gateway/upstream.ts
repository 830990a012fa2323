import { Pool } from 'undici'
import type { HealthCheckConfig } from '../config/stack-config.js'

/** One app instance behind the gateway: its connection pool, load and health. */
export class Upstream {
  readonly id: string
  readonly url: string
  readonly pool: Pool
  /** Requests in flight on this instance. */
  active = 0
  healthy = true
  #successes = 0
  #failures = 0

  constructor (id: string, url: string, options: { connections?: number } = {}) {
    this.id = id
    this.url = url
    this.pool = new Pool(url, {
      connections: options.connections ?? 64,
      keepAliveTimeout: 30_000,
      connectTimeout: 2000,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    })
  }

  /** Result of one active check; `rise` successes make it healthy, `fall` failures unhealthy. */
  recordCheck (ok: boolean, config: Pick<HealthCheckConfig, 'rise' | 'fall'>): void {
    if (ok) {
      this.#failures = 0
      this.#successes++
      if (!this.healthy && this.#successes >= config.rise) this.healthy = true
    } else {
      this.#successes = 0
      this.#failures++
      if (this.healthy && this.#failures >= config.fall) this.healthy = false
    }
  }

  /** Passive detection: a refused connection takes the instance out at once. */
  markDown (): void {
    this.healthy = false
    this.#successes = 0
  }

  async close (): Promise<void> {
    await this.pool.close()
  }
}
