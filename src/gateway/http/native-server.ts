import { createServer, type Server, type Socket } from 'node:net'
import { listenOn } from './listen.js'
import { ClientConnection, type ConnectionOwner, type Refusal, type ServerLimits } from './connection.js'
import type { GatewayRequest } from './request.js'
import type { GatewayResponse } from './response.js'
import type { GatewayHttpServer, HttpHandlers } from './server.js'

/** How often time limits are checked (Node's http server checks every 30 s by default: too coarse against slowloris). */
const SWEEP_MS = 1000

/**
 * The gateway's HTTP/1 server on raw sockets and Node's native parser. It does what the proxy
 * needs and no more per request: no header objects, no stream per bodiless request, the response
 * head and a small body in one write. Why not node:http: see docs/ARCHITECTURE.md; node:http is
 * the fallback (node-http-server.ts).
 */
export class NativeHttpServer implements ConnectionOwner, GatewayHttpServer {
  readonly kind = 'native'
  readonly limits: ServerLimits
  readonly #handlers: HttpHandlers
  readonly #server: Server
  readonly #connections = new Set<ClientConnection>()
  readonly #sweep: NodeJS.Timeout
  closing = false

  constructor (limits: ServerLimits, handlers: HttpHandlers) {
    this.limits = limits
    this.#handlers = handlers
    // Half-open: a client may finish sending (FIN) and still wait for its response.
    this.#server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
      this.#connections.add(new ClientConnection(socket, this))
    })
    this.#sweep = setInterval(() => {
      const now = Date.now()
      for (const connection of this.#connections) connection.sweep(now)
    }, SWEEP_MS)
    this.#sweep.unref()
  }

  get connections (): number { return this.#connections.size }

  /** Requests parsed and waiting behind another on their connection (pipelining), over all connections. */
  queuedRequests (): number {
    let queued = 0
    for (const connection of this.#connections) queued += connection.queued
    return queued
  }

  async listen (port: number, host: string): Promise<number> {
    return await listenOn(this.#server, port, host)
  }

  request (req: GatewayRequest, res: GatewayResponse): void { this.#handlers.request(req, res) }
  reject (res: GatewayResponse, refusal: Refusal): void { this.#handlers.reject(res, refusal) }
  upgrade (req: GatewayRequest, socket: Socket, head: Buffer): void { this.#handlers.upgrade(req, socket, head) }
  clientError (status: number): void { this.#handlers.clientError(status) }
  forget (connection: ClientConnection): void { this.#connections.delete(connection) }

  /**
   * Stops accepting; idle connections close at once, busy ones after their current response;
   * whatever is left after `graceMs` is cut.
   */
  async close (graceMs = 5000): Promise<void> {
    this.closing = true
    const closed = new Promise<void>((resolve) => { this.#server.close(() => { resolve() }) })
    for (const connection of this.#connections) connection.closeIfIdle()
    const deadline = Date.now() + graceMs
    while (this.#connections.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      for (const connection of this.#connections) connection.closeIfIdle()
    }
    for (const connection of this.#connections) connection.destroy()
    clearInterval(this.#sweep)
    await closed
  }
}
