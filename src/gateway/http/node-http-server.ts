import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { listenOn } from './listen.js'
import type { ServerLimits } from './connection-owner.js'
import type { Refusal } from './request-head.js'
import { NodeHttpConnection, type NodeConnectionOwner } from './node-http-connection.js'
import { receiveRequest } from './node-http-request.js'
import { SocketResponse, statusLine, type GatewayResponse } from './response.js'
import type { GatewayRequest } from './request.js'
import type { GatewayHttpServer, HttpHandlers } from './server.js'

/** How often node:http checks the header and request time limits (its default, 30 s, is too coarse against slowloris). */
const SWEEP_MS = 1000
/** How long a connection closed after an error may take to let the client read the answer. */
const LINGER_MS = 5000

/** The status a client error gets, or undefined when the client is gone and nothing can be said. */
function statusFor (err: Error & { code?: string }): number | undefined {
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return undefined
  if (err.code === 'HPE_HEADER_OVERFLOW') return 431
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408
  return 400
}

/** Writes a bare status and closes, the way the native server answers what it cannot parse. */
function answerAndClose (socket: Socket, status: number): void {
  if (socket.writable) socket.end(`${statusLine(status)}connection: close\r\ncontent-length: 0\r\n\r\n`, 'latin1')
  setTimeout(() => { socket.destroy() }, LINGER_MS).unref()
}

/**
 * The client-facing server on node:http: the fallback when Node's internal parser is missing or
 * fails its self-test (server.ts chooses). Same handlers, requests and responses as the native
 * server; node:http's llhttp refuses the same malformed and smuggling shapes, and its own timers
 * enforce the header, request and keep-alive limits.
 */
export class NodeHttpServer implements GatewayHttpServer, NodeConnectionOwner {
  readonly kind = 'node-http'
  readonly limits: ServerLimits
  readonly #handlers: HttpHandlers
  readonly #server: Server
  readonly #connections = new Map<Socket, NodeHttpConnection>()
  closing = false

  constructor (limits: ServerLimits, handlers: HttpHandlers) {
    this.limits = limits
    this.#handlers = handlers
    this.#server = createServer({
      maxHeaderSize: limits.maxHeaderBytes,
      // node:http refuses a headers limit above the request limit.
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: SWEEP_MS,
      // inspectHead refuses a Host-less HTTP/1.1 request with the gateway's own error body.
      requireHostHeader: false,
      noDelay: true,
    })
    this.#server.keepAliveTimeout = limits.keepAliveTimeoutMs
    this.#server.on('connection', (socket: Socket) => {
      this.#connections.set(socket, new NodeHttpConnection(socket, this))
      socket.once('close', () => {
        this.#connections.get(socket)?.closed()
        this.#connections.delete(socket)
      })
    })
    const received = (expectContinue: boolean) => (incoming: IncomingMessage, res: ServerResponse): void => {
      this.#connections.get(incoming.socket)?.received(incoming, res, expectContinue)
    }
    this.#server.on('request', received(false))
    // Answered 100 Continue when the request's turn comes, and not at all when it is refused.
    this.#server.on('checkContinue', received(true))
    // Other expectations pass through to the instance, as on the native server.
    this.#server.on('checkExpectation', received(false))
    this.#server.on('upgrade', (incoming: IncomingMessage, socket: Socket, head: Buffer) => { this.#upgrade(incoming, socket, head) })
    this.#server.on('connect', (incoming: IncomingMessage, socket: Socket) => { this.#refuseRaw(incoming, socket) })
    this.#server.on('clientError', (err: Error, socket: Socket) => { this.#clientError(err, socket) })
  }

  get connections (): number { return this.#connections.size }

  queuedRequests (): number {
    let queued = 0
    for (const connection of this.#connections.values()) queued += connection.queued
    return queued
  }

  request (req: GatewayRequest, res: GatewayResponse): void { this.#handlers.request(req, res) }
  reject (res: GatewayResponse, refusal: Refusal): void { this.#handlers.reject(res, refusal) }

  /** The socket leaves the server's bookkeeping for a tunnel, as on the native server. */
  #upgrade (incoming: IncomingMessage, socket: Socket, head: Buffer): void {
    const connection = this.#connections.get(socket)
    this.#connections.delete(socket)
    const { req, head: checked } = receiveRequest(incoming, this.limits.maxBodyBytes, () => {})
    if (checked.refusal !== undefined) {
      this.#reject(req, socket, checked.refusal)
      return
    }
    // An upgrade pipelined behind another request is not supported.
    if (connection?.busy === true) {
      socket.destroy()
      return
    }
    this.#handlers.upgrade(req, socket, head)
  }

  /** CONNECT (node:http hands it over apart from other requests): refused, this is not a forward proxy. */
  #refuseRaw (incoming: IncomingMessage, socket: Socket): void {
    this.#connections.delete(socket)
    const { req, head } = receiveRequest(incoming, this.limits.maxBodyBytes, () => {})
    this.#reject(req, socket, head.refusal ?? { code: 'OUTGROW_BAD_REQUEST', message: 'CONNECT is not supported: this is not a forward proxy', counter: 'bad_request' })
  }

  /** An error response on a socket node:http no longer frames for us: written directly, then closed. */
  #reject (req: GatewayRequest, socket: Socket, refusal: Refusal): void {
    const res = new SocketResponse({
      socket,
      closing: true,
      responseFinished: () => { socket.end() },
      destroy: () => { socket.destroy() },
    }, req)
    this.#handlers.reject(res, refusal)
  }

  #clientError (err: Error & { code?: string }, socket: Socket): void {
    // Bytes after a request that asked to close the connection: ignored, its answer still goes out and closes it.
    if (err.code === 'HPE_CLOSED_CONNECTION') return
    const status = statusFor(err)
    if (status === undefined) {
      socket.destroy()
      return
    }
    this.#handlers.clientError(status)
    const connection = this.#connections.get(socket)
    if (connection === undefined || connection.clientError(status) === 'answer') answerAndClose(socket, status)
  }

  async listen (port: number, host: string): Promise<number> {
    return await listenOn(this.#server, port, host)
  }

  async close (graceMs = 5000): Promise<void> {
    this.closing = true
    const closed = new Promise<void>((resolve) => { this.#server.close(() => { resolve() }) })
    this.#server.closeIdleConnections()
    const deadline = Date.now() + graceMs
    while (this.#connections.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      this.#server.closeIdleConnections()
    }
    this.#server.closeAllConnections()
    await closed
  }
}
