import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import { OutgrowError, type ErrorCode } from '../errors/index.js'
import type { Balancer } from './balancers.js'
import type { Upstream } from './upstream.js'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'])
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ECONNRESET', 'EHOSTUNREACH'])
const SAFE_TO_RETRY = new Set(['GET', 'HEAD', 'OPTIONS'])

function sendError (res: ServerResponse, code: ErrorCode, message?: string): void {
  const err = new OutgrowError(code, message)
  const body = JSON.stringify(err.toJSON())
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
  if (err.status === 503) headers['retry-after'] = 1
  res.writeHead(err.status, headers)
  res.end(body)
}

/** Request headers for the instance: hop-by-hop ones removed, X-Forwarded-* set. */
function upstreamHeaders (req: IncomingMessage): string[] {
  const raw = req.rawHeaders
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    const lower = name.toLowerCase()
    if (HOP_BY_HOP.has(lower) || lower === 'x-forwarded-for' || lower === 'x-forwarded-proto') continue
    out.push(name, raw[i + 1] as string)
  }
  out.push('x-forwarded-for', req.socket.remoteAddress ?? '', 'x-forwarded-proto', 'http')
  return out
}

function responseHeaders (raw: Buffer[]): string[] {
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1')
    if (HOP_BY_HOP.has(name.toLowerCase())) continue
    out.push(name, (raw[i + 1] as Buffer).toString('latin1'))
  }
  return out
}

/**
 * Forwards one request to an instance chosen by the balancer, streaming both bodies. A request
 * that never reached an instance (connection refused) is retried once on another one when its
 * method is safe; the refusing instance is taken out of rotation until health checks restore it.
 */
export class Proxy {
  readonly #upstreams: readonly Upstream[]
  readonly #balancer: Balancer

  constructor (upstreams: readonly Upstream[], balancer: Balancer) {
    this.#upstreams = upstreams
    this.#balancer = balancer
  }

  handle (req: IncomingMessage, res: ServerResponse): void {
    this.#forward(req, res, undefined, upstreamHeaders(req))
  }

  #forward (req: IncomingMessage, res: ServerResponse, failed: Upstream | undefined, headers: string[]): void {
    const upstream = this.#balancer.pick(this.#upstreams, failed)
    if (upstream === undefined) {
      sendError(res, 'OUTGROW_NO_HEALTHY_UPSTREAM')
      return
    }
    const method = req.method ?? 'GET'
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined
    upstream.active++
    let done = false
    const finish = (): void => {
      if (done) return
      done = true
      upstream.active--
    }
    const handler: Dispatcher.DispatchHandler = {
      onConnect: (abort) => {
        res.once('close', () => { if (!res.writableFinished) abort(new Error('client closed')) })
      },
      onHeaders: (statusCode, rawHeaders, resume) => {
        res.writeHead(statusCode, responseHeaders(rawHeaders as unknown as Buffer[]))
        res.on('drain', resume)
        return true
      },
      onData: (chunk) => res.write(chunk),
      onComplete: () => {
        finish()
        res.end()
      },
      onError: (err) => {
        finish()
        const code = (err as { code?: string }).code ?? ''
        if (res.headersSent) {
          res.destroy(err)
          return
        }
        if (CONNECT_ERRORS.has(code)) {
          upstream.markDown()
          if (failed === undefined && SAFE_TO_RETRY.has(method) && !hasBody) {
            this.#forward(req, res, upstream, headers)
            return
          }
          sendError(res, 'OUTGROW_UPSTREAM_FAILED', `instance ${upstream.id} unreachable`)
          return
        }
        if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
          sendError(res, 'OUTGROW_UPSTREAM_TIMEOUT')
          return
        }
        sendError(res, 'OUTGROW_UPSTREAM_FAILED')
      },
    }
    upstream.pool.dispatch({
      origin: upstream.url,
      path: req.url ?? '/',
      method: method as Dispatcher.HttpMethod,
      headers,
      body: hasBody ? req : null,
    }, handler)
  }
}
