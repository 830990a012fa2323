import type { Readable } from 'node:stream'
import { OutgrowError, type ErrorCode } from '../errors/index.js'
import type { Balancer, PickContext } from './balancing/index.js'
import type { UpstreamCluster } from './cluster.js'
import type { RouteConfig } from '../config/gateway-config.js'
import type { GatewayRequest } from './http/request.js'
import { httpDate, type CloseListener, type GatewayResponse } from './http/response.js'
import { clientResponseHeaders, cookieValue, scanRequest, type ForwardingInfo, type ScannedRequest } from './headers.js'
import { countLocal } from './metrics.js'
import type { RateLimiter, Verdict } from './rate-limiter.js'
import type { ResponseHandler } from './native-pool.js'
import type { RetryBudget } from './retry-budget.js'
import type { TrustedProxies } from './trusted-proxies.js'
import type { Upstream } from './upstream.js'

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'])

export interface Route {
  readonly config: RouteConfig
  readonly balancer: Balancer
  readonly budget: RetryBudget
  readonly retryOn: ReadonlySet<number>
  readonly sticky: boolean
}

export interface ProxyOptions {
  readonly cluster: UpstreamCluster
  readonly routes: readonly Route[]
  readonly trusted: TrustedProxies
  readonly rateLimiter: RateLimiter | undefined
  readonly requestIdPrefix: string
}

/** Answers with the error's status and its JSON form; a response already under way is cut instead. */
export function sendError (res: GatewayResponse, code: ErrorCode, message?: string, extra: readonly string[] = []): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const err = new OutgrowError(code, message)
  const body = JSON.stringify(err.toJSON())
  const headers = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), 'date', httpDate()]
  if (err.status === 503 && !extra.includes('retry-after')) headers.push('retry-after', '1')
  res.writeHead(err.status, headers.concat(extra))
  res.end(body)
}

function refuse (res: GatewayResponse, verdict: Exclude<Verdict, { allowed: true }>): void {
  countLocal(verdict.code === 'OUTGROW_RATE_LIMITED' ? 'rate_limited' : 'rate_limiter_unavailable')
  sendError(res, verdict.code, verdict.message, ['retry-after', String(verdict.retryAfterSeconds)])
}

function failureKind (code: string): 'connect' | 'timeout' | 'reset' {
  if (CONNECT_ERRORS.has(code)) return 'connect'
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timeout'
  return 'reset'
}

/**
 * The gateway's request path: route, rate limit, pick an instance, stream the request and the
 * response, retry elsewhere when that is safe and the budget allows, and feed outlier detection,
 * circuit breakers and latency EWMAs with every outcome.
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
    const replayable = route.config.retries.attempts > 0 && (IDEMPOTENT.has(method) || scanned.idempotencyKey)
    const exchange = new Exchange(this.#o, req, res, route, scanned, method)
    if (body === undefined) {
      exchange.retriesLeft = replayable ? route.config.retries.attempts : 0
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
        exchange.retriesLeft = route.config.retries.attempts
        exchange.attempt()
      })
      body.on('error', () => {})
      return
    }
    exchange.body = body
    exchange.attempt()
  }
}

/** One client request and its attempts. */
class Exchange implements CloseListener {
  readonly o: ProxyOptions
  readonly req: GatewayRequest
  readonly res: GatewayResponse
  readonly route: Route
  readonly info: ForwardingInfo
  readonly cookie: string | undefined
  /** The instance the sticky cookie names, on sticky routes. */
  readonly stickyId: string | undefined
  readonly method: string
  readonly headers: string[]
  body: Buffer | Readable | null = null
  retriesLeft = 0
  tried: Set<Upstream> | undefined
  /** Aborts the attempt in progress when the client goes away. */
  abortAttempt: ((err?: Error) => void) | undefined
  retrying = false
  clientGone = false
  finished = false

  constructor (o: ProxyOptions, req: GatewayRequest, res: GatewayResponse, route: Route, scanned: ScannedRequest, method: string) {
    this.o = o
    this.req = req
    this.res = res
    this.route = route
    this.info = scanned.info
    this.cookie = scanned.cookie
    this.stickyId = route.sticky ? cookieValue(scanned.cookie, route.config.stickyCookie) : undefined
    this.method = method
    this.headers = scanned.headers
    route.budget.requestsInFlight++
    res.closeListener = this
  }

  responseClosed (completed: boolean): void {
    this.clientGone = !completed
    if (this.clientGone) this.abortAttempt?.(new Error('client closed'))
    this.done()
  }

  done (): void {
    if (this.finished) return
    this.finished = true
    this.route.budget.requestsInFlight--
    if (this.retrying) {
      this.retrying = false
      this.route.budget.endRetry()
    }
  }

  context (): PickContext {
    const config = this.route.config
    let hashKey: string | undefined
    const source = config.hashKey
    if (source !== undefined) {
      if ('header' in source) {
        hashKey = this.req.header(source.header)
      } else if ('cookie' in source) {
        hashKey = cookieValue(this.cookie, source.cookie)
      } else {
        hashKey = this.req.url.split('?')[0]?.split('/')[source.pathSegment + 1]
      }
    }
    return {
      now: Date.now(),
      clientIp: this.info.clientIp,
      hashKey,
      stickyId: this.stickyId,
      exclude: this.tried,
    }
  }

  attempt (): void {
    if (this.clientGone) return
    const cluster = this.o.cluster
    const upstream = this.route.balancer.pick(cluster.members, this.context())
    if (upstream === undefined) {
      countLocal('no_upstream')
      sendError(this.res, this.tried === undefined ? 'OUTGROW_NO_HEALTHY_UPSTREAM' : 'OUTGROW_UPSTREAM_FAILED')
      return
    }
    new Attempt(this, upstream).send()
  }

  /** After a failed attempt: another instance if safe, budgeted and possible; else an error response. */
  fail (upstream: Upstream, code: ErrorCode, message: string): void {
    if (this.retriesLeft > 0 && !this.res.headersSent && !this.clientGone && !(this.body !== null && !Buffer.isBuffer(this.body))) {
      if (this.retrying || this.route.budget.tryStartRetry()) {
        this.retrying = true
        this.retriesLeft--
        upstream.stats.retriedElsewhere++
        ;(this.tried ??= new Set()).add(upstream)
        this.attempt()
        return
      }
    }
    sendError(this.res, code, message)
  }
}

/** One try on one instance: an undici dispatch handler. */
class Attempt implements ResponseHandler {
  readonly #x: Exchange
  readonly #upstream: Upstream
  readonly #startedAt = performance.now()
  #abort: ((err?: Error) => void) | undefined
  #resume: (() => void) | undefined
  #settled = false
  #discarding = false

  constructor (exchange: Exchange, upstream: Upstream) {
    this.#x = exchange
    this.#upstream = upstream
  }

  send (): void {
    const u = this.#upstream
    const x = this.#x
    u.active++
    u.breaker.onSend(Date.now())
    u.dispatcher.dispatch({
      path: x.req.url,
      method: x.method,
      headers: x.headers,
      body: x.body,
      headersTimeout: x.route.config.timeoutMs,
      bodyTimeout: x.route.config.timeoutMs,
    }, this)
  }

  #settle (ok: boolean): void {
    if (this.#settled) return
    this.#settled = true
    const u = this.#upstream
    u.active--
    const now = Date.now()
    if (ok) {
      u.breaker.onSuccess()
      this.#x.o.cluster.outliers.onSuccess(u)
    } else {
      u.breaker.onFailure(now)
      this.#x.o.cluster.outliers.onFailure(u, this.#x.o.cluster.members, now)
    }
  }

  onConnect (abort: (err?: Error) => void): void {
    this.#abort = abort
    this.#x.abortAttempt = abort
    if (this.#x.clientGone) abort(new Error('client closed'))
  }

  onHeaders (statusCode: number, rawHeaders: Array<Buffer | string>, resume: () => void): boolean {
    const x = this.#x
    const u = this.#upstream
    const elapsedMs = performance.now() - this.#startedAt
    u.observeLatency(elapsedMs, Date.now())
    const stats = u.stats
    stats.latency(elapsedMs / 1000)
    if (statusCode < 200) return true
    if (x.route.retryOn.has(statusCode) && x.retriesLeft > 0 && !x.res.headersSent) {
      // Retry elsewhere: drop this response and let onError/onComplete not answer the client.
      stats.failures.status++
      this.#settle(false)
      this.#discarding = true
      this.#abort?.(new Error('retrying'))
      x.fail(u, 'OUTGROW_UPSTREAM_FAILED', `instance ${u.id} answered ${statusCode}`)
      return false
    }
    stats.response(statusCode)
    const extra = ['x-request-id', x.info.requestId]
    if (x.route.sticky && x.stickyId !== u.id) extra.push('set-cookie', `${x.route.config.stickyCookie}=${encodeURIComponent(u.id)}; Path=/; HttpOnly; SameSite=Lax`)
    // With the native pool, the response leaves once per read from the instance (no microtask per response).
    if (u.dispatcher.signalsReadComplete === true) x.res.cork()
    x.res.writeHead(statusCode, clientResponseHeaders(rawHeaders, extra))
    this.#resume = resume
    if (statusCode >= 500) this.#settle(false)
    return true
  }

  onData (chunk: Buffer): boolean {
    if (this.#discarding) return true
    const ok = this.#x.res.write(chunk)
    // Backpressure: undici pauses until the client has taken what was written.
    if (!ok && this.#resume !== undefined) this.#x.res.onDrain(this.#resume)
    return ok
  }

  onReadComplete (): void {
    if (!this.#discarding) this.#x.res.flush()
  }

  onComplete (): void {
    if (this.#discarding) return
    this.#settle(true)
    this.#x.res.end()
  }

  onError (err: Error): void {
    if (this.#discarding) return
    const x = this.#x
    const u = this.#upstream
    const code = (err as { code?: string }).code ?? ''
    const kind = failureKind(code)
    if (x.clientGone) {
      this.#settle(true)
      return
    }
    u.stats.failures[kind]++
    this.#settle(false)
    if (kind === 'connect') u.markDown()
    if (x.res.headersSent) {
      x.res.destroy()
      return
    }
    x.fail(u, kind === 'timeout' ? 'OUTGROW_UPSTREAM_TIMEOUT' : 'OUTGROW_UPSTREAM_FAILED', `instance ${u.id}: ${kind}`)
  }
}
