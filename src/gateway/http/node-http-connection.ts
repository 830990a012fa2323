import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { ServerLimits } from './connection-owner.js'
import { discardRest, receiveRequest } from './node-http-request.js'
import { NodeHttpResponse, type ResponseDone } from './node-http-response.js'
import type { GatewayRequest } from './request.js'
import { bodyTooLarge, type Refusal } from './request-head.js'
import type { GatewayResponse } from './response.js'

/** What a connection needs from the node:http server around it. */
export interface NodeConnectionOwner {
  readonly limits: ServerLimits
  readonly closing: boolean
  request(req: GatewayRequest, res: GatewayResponse): void
  reject(res: GatewayResponse, refusal: Refusal): void
}

interface Pending { incoming: IncomingMessage, raw: ServerResponse, req: GatewayRequest, res: NodeHttpResponse, expectContinue: boolean, refusal: Refusal | undefined }

/**
 * One client connection under node:http. node:http keeps responses in order but hands every
 * pipelined request over at once; here they are answered one at a time, as the native server
 * does, and reading stops while maxPipelinedRequests wait. node:http parses a whole read ahead,
 * so the queue can pass the cap by what one read carries (see docs/ARCHITECTURE.md).
 */
export class NodeHttpConnection implements ResponseDone {
  readonly socket: Socket
  readonly #owner: NodeConnectionOwner
  #current: Pending | undefined
  readonly #queue: Pending[] = []
  #pausedForPipeline = false
  /** A request was refused or broke: nothing after it is handled, and the connection ends. */
  #stopped = false

  constructor (socket: Socket, owner: NodeConnectionOwner) {
    this.socket = socket
    this.#owner = owner
    // node:http resumes the socket itself whenever a response finishes: while the queue is full,
    // it is paused again in the same tick, before anything more is read.
    socket.on('resume', () => { if (this.#pausedForPipeline) socket.pause() })
  }

  get closing (): boolean { return this.#owner.closing }
  get queued (): number { return this.#queue.length }
  get busy (): boolean { return this.#current !== undefined }

  received (incoming: IncomingMessage, raw: ServerResponse, expectContinue: boolean): void {
    if (this.#stopped) {
      incoming.resume()
      return
    }
    const { req, head } = receiveRequest(incoming, this.#owner.limits.maxBodyBytes, (r) => { this.#tooLarge(r) })
    const pending: Pending = { incoming, raw, req, res: new NodeHttpResponse(raw, this, req.method), expectContinue: expectContinue && head.expectContinue, refusal: head.refusal }
    if (pending.refusal !== undefined) this.#stop(pending)
    if (this.#current === undefined) {
      this.#begin(pending)
      return
    }
    this.#queue.push(pending)
    if (this.#queue.length >= this.#owner.limits.maxPipelinedRequests && !this.#pausedForPipeline) {
      this.#pausedForPipeline = true
      this.socket.pause()
    }
  }

  #stop (pending: Pending): void {
    this.#stopped = true
    pending.res.closeWhenDone()
  }

  #begin (pending: Pending): void {
    this.#current = pending
    if (pending.refusal !== undefined) {
      this.#owner.reject(pending.res, pending.refusal)
      return
    }
    if (pending.expectContinue) pending.raw.writeContinue()
    this.#owner.request(pending.req, pending.res)
  }

  responseDone (res: NodeHttpResponse): void {
    const current = this.#current
    if (current?.res !== res) return
    this.#current = undefined
    discardRest(current.req, current.incoming)
    if (this.#stopped || this.#owner.closing) {
      this.#queue.length = 0
      // Once node:http has handed this answer to the socket, the connection ends (the answer may
      // not carry connection: close when the request behind it broke after its head went out).
      if (current.raw.writableFinished) this.socket.end()
      else current.raw.once('finish', () => { this.socket.end() })
      return
    }
    if (this.#pausedForPipeline && this.#queue.length <= this.#owner.limits.maxPipelinedRequests / 2) {
      this.#pausedForPipeline = false
      this.socket.resume()
    }
    const next = this.#queue.shift()
    if (next !== undefined) this.#begin(next)
  }

  /** A chunked body passed maxBodyBytes: 413 if its answer has not started, else the connection is cut. */
  #tooLarge (req: GatewayRequest): void {
    req.body?.destroy()
    const pending = this.#current?.req === req ? this.#current : this.#queue.find((p) => p.req === req)
    if (pending === undefined) return
    this.#stop(pending)
    if (pending !== this.#current) {
      pending.refusal = bodyTooLarge(this.#owner.limits.maxBodyBytes)
      return
    }
    if (pending.res.headersSent) {
      this.socket.destroy()
      return
    }
    // The handler hears its client is gone, so nothing it writes later mixes with the 413.
    pending.res.closed(false)
    this.#owner.reject(pending.res, bodyTooLarge(this.#owner.limits.maxBodyBytes))
  }

  /**
   * node:http could not parse the stream, or a time limit passed. An error in the request being
   * received is answered with `status` (when its answer has not started); one in a pipelined
   * request behind it lets the current answer finish, then the connection closes.
   * 'answer' when no request is under way and the caller writes the bare status itself.
   */
  clientError (status: number): 'answer' | 'handled' {
    this.#stopped = true
    this.#queue.length = 0
    const current = this.#current
    if (current === undefined) return 'answer'
    if (current.req.complete) {
      current.res.closeWhenDone()
      return 'handled'
    }
    if (current.res.headersSent) {
      this.socket.destroy()
      return 'handled'
    }
    current.req.body?.destroy()
    current.res.closed(false)
    current.res.closeWhenDone()
    current.res.writeHead(status, ['content-length', '0'])
    current.res.end()
    return 'handled'
  }

  /** The socket closed: whatever is under way learns the client is gone. */
  closed (): void {
    for (const pending of [this.#current, ...this.#queue.splice(0)]) {
      if (pending !== undefined && !pending.res.finished) pending.res.closed(false)
    }
    this.#current = undefined
  }
}
