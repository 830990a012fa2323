import type { Readable } from 'node:stream'
import type { ErrorCode } from '../errors/index.js'
import { eligible } from './balancing/balancer.js'
import type { PickContext } from './balancing/index.js'
import type { GatewayRequest } from './http/request.js'
import type { CloseListener, GatewayResponse } from './http/response.js'
import { cookieValue, type ForwardingInfo, type ScannedRequest } from './headers.js'
import { countLocal } from './metrics.js'
import type { ProxyOptions, Route } from './proxy.js'
import { sendError } from './send-error.js'
import { Attempt } from './attempt.js'
import type { Upstream } from './upstream.js'

/** Methods whose requests mean the same sent twice (RFC 9110); others are replayable only with an Idempotency-Key. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])

/**
 * One client request and its tries: the first, retries on other instances after a failure, and a
 * hedge (a second copy while the first still runs) on hedged routes. Every try ends before the
 * route's deadline; the first answer is passed on and any other try is cancelled.
 */
export class Exchange implements CloseListener {
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
  /** When the route's timeout runs out (epoch ms): no try waits past it. */
  readonly deadline: number
  body: Buffer | Readable | null = null
  retriesLeft = 0
  /** May be sent again (idempotent or keyed, body buffered): retries and failing over apply. */
  replayable = false
  /**
   * An idempotent method, not a keyed write: only such a try is given up at the route's learnt
   * p99 or raced by a hedge. A keyed write's second copy cannot finish sooner than the first — the
   * application holds it until the first one ends, or refuses it as in progress — so it is sent
   * again only when its try failed.
   */
  readonly idempotentMethod: boolean
  tried: Set<Upstream> | undefined
  /** Tries still waiting for or streaming an answer. */
  readonly live = new Set<Attempt>()
  retrying = false
  clientGone = false
  finished = false
  /** The answer passed on is under 500. */
  succeeded = false
  #stopWaiting: (() => void) | undefined

  constructor (o: ProxyOptions, req: GatewayRequest, res: GatewayResponse, route: Route, scanned: ScannedRequest, method: string) {
    this.o = o
    this.req = req
    this.res = res
    this.route = route
    this.info = scanned.info
    this.cookie = scanned.cookie
    this.stickyId = route.sticky ? cookieValue(scanned.cookie, route.config.stickyCookie) : undefined
    this.method = method
    this.idempotentMethod = IDEMPOTENT_METHODS.has(method)
    this.headers = scanned.headers
    this.deadline = Date.now() + route.config.timeoutMs
    route.budget.requestsInFlight++
    res.closeListener = this
  }

  /** Retries are allowed: from now on the request may be sent again. */
  allowRetries (): void {
    this.replayable = true
    this.retriesLeft = this.route.config.retries.attempts
  }

  get hedging (): boolean { return this.route.config.hedge && this.replayable && this.idempotentMethod }

  responseClosed (completed: boolean): void {
    this.clientGone = !completed
    if (this.clientGone) for (const attempt of [...this.live]) attempt.cancel()
    this.done()
  }

  done (): void {
    if (this.finished) return
    this.finished = true
    this.#stopWaiting?.()
    this.route.budget.requestsInFlight--
    if (this.retrying) {
      this.retrying = false
      this.route.budget.endRetry(this.succeeded && !this.clientGone)
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
    return { now: Date.now(), clientIp: this.info.clientIp, hashKey, stickyId: this.stickyId, exclude: this.tried }
  }

  /** Sends a try to the instance the balancer picks; false when none may take it. */
  #try (): boolean {
    const members = this.o.cluster.members
    const context = this.context()
    let upstream = this.route.balancer.pick(members, context) ?? this.route.balancer.pick(members, { ...context, panic: true })
    if (upstream === undefined && this.live.size === 0 && context.exclude !== undefined && context.exclude.size > 0) {
      // A retry, and every instance that may take it has been tried (a fail-over from a vanished
      // instance whose retry then failed too): one still in rotation takes it again rather than the
      // client getting a 502. Unhealthy instances stay out; retriesLeft and the budget bound the
      // tries. A hedge never goes where its first copy runs.
      const again = { ...context, exclude: undefined }
      upstream = this.route.balancer.pick(members, again) ?? this.route.balancer.pick(members, { ...again, panic: true })
    }
    if (upstream === undefined) return false
    // Remembered only where a later try needs to avoid it (the balancers' exclude set).
    if (this.replayable) (this.tried ??= new Set()).add(upstream)
    const attempt = new Attempt(this, upstream)
    this.live.add(attempt)
    attempt.send()
    return true
  }

  /**
   * Another instance could take this request's next try now. When none can, a try is not given up
   * at the learnt p99: its copy would go to the same instance, which is still working on the first —
   * twice the work for the one instance that is already slow (a fleet of one, or all others out).
   */
  canGoElsewhere (upstream: Upstream): boolean {
    const context = { now: Date.now(), clientIp: this.info.clientIp, hashKey: undefined, stickyId: undefined, exclude: this.tried }
    return this.o.cluster.members.some((member) => member !== upstream && eligible(member, context))
  }

  attempt (): void {
    if (this.clientGone || this.finished) return
    if (this.#try()) return
    countLocal('no_upstream')
    sendError(this.res, this.tried === undefined || this.tried.size === 0 ? 'OUTGROW_NO_HEALTHY_UPSTREAM' : 'OUTGROW_UPSTREAM_FAILED')
  }

  /**
   * A retryable status (retryOn) may be dropped for another try only if that try can start now —
   * retries left, time left, an instance to send it to, a retry slot in the budget (taken here,
   * held until the exchange ends).
   * Otherwise the client gets the instance's own answer, with its code and Retry-After, rather than
   * a 502 of ours (Envoy passes the response through on a retry overflow; nginx gives the last one).
   */
  mayDropForRetry (): boolean {
    const now = Date.now()
    if (this.retriesLeft <= 0 || this.res.headersSent || now >= this.deadline) return false
    if (this.live.size > 1) return true
    // The most a retry could be sent to (#try's last resort): none, and the answer would become a 502.
    const lastResort = { now, clientIp: this.info.clientIp, hashKey: undefined, stickyId: undefined, exclude: undefined, panic: true }
    if (!this.o.cluster.members.some((member) => eligible(member, lastResort))) return false
    if (this.retrying) return true
    if (!this.route.budget.tryStartRetry()) return false
    this.retrying = true
    return true
  }

  /** A try got the answer that goes to the client: any other try is cancelled. */
  won (attempt: Attempt): void {
    for (const other of this.live) if (other !== attempt) other.cancel()
  }

  /** A try has had no answer for its per-try timeout: a second copy goes to another instance, budget allowing. */
  hedge (): void {
    if (this.clientGone || this.finished || this.res.headersSent || this.live.size > 1 || this.retriesLeft <= 0 || Date.now() >= this.deadline) return
    if (!this.retrying && !this.route.budget.tryStartRetry()) return
    this.retrying = true
    this.retriesLeft--
    this.#try()
  }

  /**
   * A try failed. A hedge still running carries on; else retry if safe and budgeted, or answer the
   * error. `answered`: the instance sent an error status (retryOn), rather than no answer at all.
   */
  failed (attempt: Attempt, upstream: Upstream, code: ErrorCode, message: string, answered = false): void {
    this.live.delete(attempt)
    if (this.clientGone || this.finished || this.live.size > 0) return
    if (this.retriesLeft <= 0 || this.res.headersSent || Date.now() >= this.deadline) {
      sendError(this.res, code, message)
      return
    }
    upstream.stats.retriedElsewhere++
    if (this.retrying || this.route.budget.tryStartRetry()) {
      this.retrying = true
      this.#retry()
      return
    }
    // A burst of tries with no answer (time-outs, and the resets and refused connections of an
    // instance that vanished or came back) is one instance gone: those wait for a slot, granted only
    // when a retry succeeds, so retries in flight never exceed the budget. Error statuses are a fleet
    // that answers but fails, what retry storms are made of: refused at once, as the budget says.
    if (!answered) this.#waitForSlot(code, message)
    else sendError(this.res, code, message)
  }

  #retry (): void {
    this.retriesLeft--
    this.attempt()
  }

  /** The budget is spent: wait for a retry in flight to end, within the deadline and the per-try cap. */
  #waitForSlot (code: ErrorCode, message: string): void {
    const waitMs = Math.min(this.deadline - Date.now(), this.route.config.perTryTimeout.capMs)
    const giveUp = (): void => {
      this.#stopWaiting?.()
      sendError(this.res, code, message)
    }
    const timer = setTimeout(giveUp, waitMs)
    const withdraw = this.route.budget.waitForRetry(() => {
      clearTimeout(timer)
      this.#stopWaiting = undefined
      this.retrying = true
      this.#retry()
    }, giveUp)
    this.#stopWaiting = () => {
      this.#stopWaiting = undefined
      clearTimeout(timer)
      withdraw()
    }
  }
}
