import type { HealthCheckConfig } from '../config/stack-config.js'
import type { Upstream } from './upstream.js'

/** One probe's outcome and, in words, why: it ends up in the log line of a health transition. */
export interface ProbeResult {
  readonly ok: boolean
  readonly reason: string
  /** No answer at all: timed out or the connection failed. */
  readonly unreachable?: boolean
}

const ERROR_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENOTFOUND: 'host not found',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
}

/** An instance on its way back is checked this many times faster (HAProxy's `fastinter`). */
const RISE_SPEED_UP = 4

/**
 * Active health checks: GET config.path on every instance each interval, with a timeout. An
 * unhealthy instance that passes a check is checked again after interval / 4 until it has risen,
 * so it is back about one interval after it heals rather than `rise` intervals.
 */
export class HealthChecker {
  readonly #members: () => readonly Upstream[]
  readonly #config: HealthCheckConfig
  readonly #checking = new WeakSet<Upstream>()
  #timer: NodeJS.Timeout | undefined
  #stopped = false

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
    // One check at a time per instance: a slow one is not stacked on.
    if (this.#checking.has(upstream) || this.#stopped) return
    this.#checking.add(upstream)
    try {
      const startedAt = Date.now()
      const result = await this.probe(upstream)
      if (this.#stopped) return
      upstream.recordCheck(result.ok, this.#config, result.reason, result.unreachable === true, startedAt)
    } finally {
      this.#checking.delete(upstream)
    }
    if (upstream.rising && this.#members().includes(upstream)) setTimeout(() => { void this.check(upstream) }, this.#config.intervalMs / RISE_SPEED_UP).unref()
  }

  async probe (upstream: Upstream): Promise<ProbeResult> {
    const { path, timeoutMs } = this.#config
    try {
      const response = await upstream.pool.request({
        path,
        method: 'GET',
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      })
      await response.body.dump()
      const status = response.statusCode
      // A service without this path is the usual first-run surprise: say which setting moves it.
      const hint = status === 404 ? ' (upstreams.healthCheck.path sets the path checked)' : ''
      return { ok: status === 200, reason: `GET ${path} answered ${status}${hint}` }
    } catch (err) {
      const e = err as Error & { code?: string }
      if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
        return { ok: false, reason: `GET ${path} timed out after ${timeoutMs} ms`, unreachable: true }
      }
      const code = e.code ?? (e.cause as { code?: string } | undefined)?.code
      return { ok: false, reason: `GET ${path} failed: ${(code === undefined ? undefined : ERROR_WORDS[code]) ?? code ?? e.message}`, unreachable: true }
    }
  }

  stop (): void {
    this.#stopped = true
    if (this.#timer !== undefined) clearInterval(this.#timer)
  }
}
