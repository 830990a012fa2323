import type { Balancer } from './balancing/index.js'
import type { UpstreamCluster } from './cluster.js'
import type { RouteConfig } from '../config/gateway-config.js'
import { Exchange, IDEMPOTENT_METHODS } from './exchange.js'
import type { GatewayRequest } from './http/request.js'
import type { GatewayResponse } from './http/response.js'
import { scanRequest, type ScannedRequest } from './headers.js'
import { countLocal } from './metrics.js'
import type { PerTryTimeouts } from './per-try-timeout.js'
import type { RateLimiter, Verdict } from './rate-limiter.js'
import type { RetryBudget } from './retry-budget.js'
import { sendError } from './send-error.js'
import type { TrustedProxies } from './trusted-proxies.js'

export { sendError } from './send-error.js'

export interface Route {
  readonly config: RouteConfig
  readonly balancer: Balancer
  readonly budget: RetryBudget
  readonly retryOn: ReadonlySet<number>
  readonly sticky: boolean
  readonly perTry: PerTryTimeouts
}

export interface ProxyOptions {
  readonly cluster: UpstreamCluster
  readonly routes: readonly Route[]
  readonly trusted: TrustedProxies
  readonly rateLimiter: RateLimiter | undefined
  readonly requestIdPrefix: string
}

function refuse (res: GatewayResponse, verdict: Exclude<Verdict, { allowed: true }>): void {
  countLocal(verdict.code === 'OUTGROW_RATE_LIMITED' ? 'rate_limited' : 'rate_limiter_unavailable')
  sendError(res, verdict.code, verdict.message, ['retry-after', String(verdict.retryAfterSeconds)])
}

/**
 * The gateway's request path: route, rate limit, then an Exchange (exchange.ts) picks instances,
 * streams the request and the response, and retries elsewhere when that is safe and the budget
 * allows; each try (attempt.ts) feeds outlier detection, breakers and latency figures.
 */
export class GatewayProxy {
  readonly #o: ProxyOptions
  #ids = 0
  readonly #newId = (): string => `${this.#o.requestIdPrefix}${(++this.#ids).toString(36)}`

  constructor (options: ProxyOptions) {
    this.#o = options
  }

  route (url: string): Route {
    for (const route of this.#o.routes) if (url.startsWith(route.config.pathPrefix)) return route
    return this.#o.routes[this.#o.routes.length - 1] as Route
  }

  handle (req: GatewayRequest, res: GatewayResponse): void {
    // The HTTP server has refused anything but a path as target (no open proxying).
    const route = this.route(req.url)
    const scanned = scanRequest(req, this.#o.trusted, this.#newId)
    const limiter = this.#o.rateLimiter
    if (route.config.rateLimit === undefined || limiter === undefined) {
      this.#start(req, res, route, scanned)
      return
    }
    void limiter.check(route.config, req, scanned.info.clientIp).then((verdict) => {
      if (verdict.allowed) this.#start(req, res, route, scanned)
      else refuse(res, verdict)
    })
  }

  /** The rate limits of the route a request (or an upgrade) goes to. */
  async admit (req: GatewayRequest, route: Route, clientIp: string): Promise<Verdict> {
    return this.#o.rateLimiter === undefined ? { allowed: true } : await this.#o.rateLimiter.check(route.config, req, clientIp)
  }

  #start (req: GatewayRequest, res: GatewayResponse, route: Route, scanned: ScannedRequest): void {
    const method = req.method
    const body = req.body
    const replayable = route.config.retries.attempts > 0 && (IDEMPOTENT_METHODS.has(method) || scanned.idempotencyKey)
    const exchange = new Exchange(this.#o, req, res, route, scanned, method)
    if (body === undefined) {
      if (replayable) exchange.allowRetries()
      exchange.attempt()
      return
    }
    const length = Number(req.contentLength)
    if (replayable && Number.isFinite(length) && length <= route.config.retries.maxBufferedBodyBytes) {
      // A body that may be sent twice is read first; bodies that cannot be retried stream straight through.
      const chunks: Buffer[] = []
      body.on('data', (chunk: Buffer) => chunks.push(chunk))
      body.on('end', () => {
        exchange.body = Buffer.concat(chunks)
        exchange.allowRetries()
        exchange.attempt()
      })
      body.on('error', () => {})
      return
    }
    exchange.body = body
    exchange.attempt()
  }
}
