import type { Exchange } from './exchange.js'
import { clientResponseHeaders } from './headers.js'
import type { ResponseHandler } from './native-pool.js'
import type { InFlightTry, Upstream } from './upstream.js'

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'])

function failureKind (code: string): 'connect' | 'timeout' | 'reset' {
  if (CONNECT_ERRORS.has(code)) return 'connect'
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timeout'
  return 'reset'
}

type Outcome = 'success' | 'failure' | 'neutral'

function isEventStream (rawHeaders: Array<Buffer | string>): boolean {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (String(rawHeaders[i]).toLowerCase() === 'content-type') return String(rawHeaders[i + 1]).toLowerCase().startsWith('text/event-stream')
  }
  return false
}

/**
 * One try on one instance: an undici dispatch handler. It waits for response headers at most its
 * per-try timeout (or, when hedged, asks for a second copy then), and feeds outlier detection,
 * the breaker and latency figures with its outcome — unless the instance's health changed since it
 * was sent, which makes the outcome old news.
 */
export class Attempt implements ResponseHandler, InFlightTry {
  readonly #x: Exchange
  readonly #upstream: Upstream
  readonly #startedAt = performance.now()
  #epoch = 0
  #perTryMs = 0
  #abort: ((err?: Error) => void) | undefined
  #resume: (() => void) | undefined
  #hedgeTimer: NodeJS.Timeout | undefined
  #settled = false
  #answered = false
  #stream = false
  /** Later callbacks are ignored: the try was cancelled, failed over, or its answer dropped for a retry. */
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
    this.#epoch = u.healthEpoch
    const remaining = Math.max(1, x.deadline - Date.now())
    const perTry = this.#perTryMs = x.route.perTry.timeoutFor(u, x.replayable && x.idempotentMethod && x.canGoElsewhere(u))
    let headersTimeout = Math.min(perTry, remaining)
    if (x.hedging) {
      // The first try is not given up at its per-try timeout: a second copy races it.
      headersTimeout = remaining
      if (perTry < remaining) this.#hedgeTimer = setTimeout(() => { this.#hedgeTimer = undefined; if (!this.#answered && !this.#settled) x.hedge() }, perTry)
    }
    if (x.replayable) u.inFlight.add(this)
    u.dispatcher.dispatch({
      path: x.req.url,
      method: x.method,
      headers: x.headers,
      body: x.body,
      headersTimeout,
      bodyTimeout: x.route.config.timeoutMs,
    }, this)
  }

  #settle (outcome: Outcome): void {
    if (this.#settled) return
    this.#settled = true
    const u = this.#upstream
    u.active--
    this.#untrack()
    if (outcome === 'neutral' || u.healthEpoch !== this.#epoch) {
      u.breaker.onCancel()
      return
    }
    const outliers = this.#x.o.cluster.outliers
    if (outcome === 'success') {
      u.breaker.onSuccess()
      outliers.onSuccess(u)
    } else {
      const now = Date.now()
      u.breaker.onFailure(now)
      outliers.onFailure(u, this.#x.o.cluster.members, now)
    }
  }

  #untrack (): void {
    if (this.#hedgeTimer !== undefined) clearTimeout(this.#hedgeTimer)
    this.#hedgeTimer = undefined
    this.#upstream.inFlight.delete(this)
  }

  /** Another try answered first, or the client went away. */
  cancel (): void {
    if (this.#discarding) return
    this.#discarding = true
    this.#settle('neutral')
    this.#x.live.delete(this)
    this.#abort?.(new Error('cancelled'))
  }

  /** The instance stopped answering its health checks: this try goes elsewhere now. */
  instanceUnreachable (): void {
    if (this.#answered || this.#discarding) return
    this.#discarding = true
    this.#settle('neutral')
    this.#abort?.(new Error('instance unreachable'))
    const u = this.#upstream
    u.stats.failures.timeout++
    this.#x.failed(this, u, 'OUTGROW_UPSTREAM_TIMEOUT', `instance ${u.id} stopped answering`)
  }

  onConnect (abort: (err?: Error) => void): void {
    this.#abort = abort
    if (this.#discarding) abort(new Error('cancelled'))
  }

  onHeaders (statusCode: number, rawHeaders: Array<Buffer | string>, resume: () => void): boolean {
    if (this.#discarding) return false
    const x = this.#x
    const u = this.#upstream
    const elapsedMs = performance.now() - this.#startedAt
    const now = u.lastAnswerAt = Date.now()
    u.observeLatency(elapsedMs, now)
    x.route.perTry.observe(u, elapsedMs)
    x.o.cluster.outliers.onLatency(u, elapsedMs)
    const stats = u.stats
    stats.latency(elapsedMs / 1000)
    if (statusCode < 200) return true
    if (x.route.retryOn.has(statusCode) && x.mayDropForRetry()) {
      // Retry elsewhere: drop this response; onError/onComplete will not answer the client.
      stats.failures.status++
      this.#settle('failure')
      this.#discarding = true
      this.#abort?.(new Error('retrying'))
      x.failed(this, u, 'OUTGROW_UPSTREAM_FAILED', `instance ${u.id} answered ${statusCode}`, true)
      return false
    }
    this.#answered = true
    this.#untrack()
    x.succeeded = statusCode < 500
    x.won(this)
    stats.response(statusCode)
    const extra = ['x-request-id', x.info.requestId]
    if (x.route.sticky && x.stickyId !== u.id) extra.push('set-cookie', `${x.route.config.stickyCookie}=${encodeURIComponent(u.id)}; Path=/; HttpOnly; SameSite=Lax`)
    // With the native pool, the response leaves once per read from the instance (no microtask per response).
    if (u.dispatcher.signalsReadComplete === true) x.res.cork()
    x.res.writeHead(statusCode, clientResponseHeaders(rawHeaders, extra))
    this.#resume = resume
    if (statusCode >= 500) this.#settle('failure')
    else if (isEventStream(rawHeaders)) {
      // Answered: the instance did its part. What follows may last hours and is no load.
      this.#stream = true
      u.streams++
      this.#settle('success')
    }
    return true
  }

  #streamEnded (): void {
    if (!this.#stream) return
    this.#stream = false
    this.#upstream.streams--
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
    this.#streamEnded()
    this.#settle('success')
    this.#x.live.delete(this)
    this.#x.res.end()
  }

  onError (err: Error): void {
    if (this.#discarding) return
    this.#streamEnded()
    const x = this.#x
    const u = this.#upstream
    const code = (err as { code?: string }).code ?? ''
    const kind = failureKind(code)
    if (x.clientGone) {
      this.#settle('neutral')
      return
    }
    u.stats.failures[kind]++
    this.#settle('failure')
    if (kind === 'connect') u.markDown()
    if (this.#answered) {
      x.live.delete(this)
      x.res.destroy()
      return
    }
    const message = kind === 'timeout' ? `instance ${u.id}: no response within ${Math.min(this.#perTryMs, x.route.config.timeoutMs)} ms` : `instance ${u.id}: ${kind}`
    x.failed(this, u, kind === 'timeout' ? 'OUTGROW_UPSTREAM_TIMEOUT' : 'OUTGROW_UPSTREAM_FAILED', message)
  }
}
