import type { Socket } from 'node:net'
import { HTTPParser, METHODS, PAUSE_PARSER, closeParserLater, createParser, type NativeParser, type ParseError } from './native-parser.js'
import type { ConnectionOwner } from './connection-owner.js'
import { ReadFlow } from './read-flow.js'
import { GatewayRequest, RequestBody, type BodySource } from './request.js'
import { bodyTooLarge, inspectHead, type Refusal } from './request-head.js'
import { SocketResponse, statusLine, type ResponseSink } from './response.js'

/** How long a closing connection may take to let the client read its last response. */
const LINGER_MS = 5000

export type { ConnectionOwner, ServerLimits } from './connection-owner.js'
export type { Refusal }

interface Pending { req: GatewayRequest, res: SocketResponse, expectContinue: boolean, refusal: Refusal | undefined }

/**
 * One client connection of the gateway's HTTP/1 server: llhttp parses the bytes; requests are
 * answered one at a time and in order (pipelined ones wait their turn, at most
 * maxPipelinedRequests of them before reading stops); the server's sweep enforces the header,
 * request and keep-alive time limits.
 */
export class ClientConnection implements ResponseSink, BodySource {
  readonly socket: Socket
  readonly #owner: ConnectionOwner
  readonly #parser: NativeParser
  readonly #remoteAddress: string
  #current: Pending | undefined
  readonly #queue: Pending[] = []
  /** The request whose body is being received. */
  #parsing: GatewayRequest | undefined
  #upgrade: GatewayRequest | undefined
  /** When the message being received began; 0 between messages. Read by the sweep. */
  #messageStartedAt = 0
  #headersComplete = false
  #idleSince = Date.now()
  #endedAt = 0
  readonly #reads: ReadFlow
  #resumeScheduled = false
  #broken = false
  #endAfterCurrent = false
  #dead = false

  constructor (socket: Socket, owner: ConnectionOwner) {
    this.socket = socket
    this.#owner = owner
    this.#remoteAddress = socket.remoteAddress ?? ''
    this.#parser = createParser(HTTPParser.REQUEST, owner.limits.maxHeaderBytes, {
      messageBegin: this.#onMessageBegin,
      headersComplete: this.#onHeadersComplete,
      body: this.#onBody,
      messageComplete: this.#onMessageComplete,
      execute: this.#onExecute,
    })
    socket.on('data', this.#onData)
    socket.on('end', this.#onEnd)
    socket.on('error', () => {})
    socket.on('close', this.#onClose)
    this.#reads = new ReadFlow(socket, this.#parser)
  }

  get closing (): boolean { return this.#owner.closing }
  get queued (): number { return this.#queue.length }
  get idle (): boolean { return this.#current === undefined && this.#messageStartedAt === 0 }

  /** Bytes reach here only when the socket is not consumed, or no longer parsed. */
  readonly #onData = (data: Buffer): void => {
    if (this.#broken) return
    this.#afterExecute(this.#parser.execute(data), data)
  }

  /** After the parser consumed a read. */
  readonly #onExecute = (result: number | ParseError): void => {
    this.#afterExecute(result, undefined)
  }

  #afterExecute (result: number | ParseError, data: Buffer | undefined): void {
    if (typeof result !== 'number') {
      if (result.code === 'HPE_PAUSED' && !this.#broken) {
        // Paused by #onHeadersComplete: keep what was not parsed for when the queue drains.
        this.#reads.keep((data ?? this.#parser.getCurrentBuffer()).subarray(result.bytesParsed ?? 0))
      } else if (!this.#broken) this.#parseError(result)
    } else if (this.#upgrade !== undefined && !this.#broken) {
      this.#startUpgrade(this.#upgrade, (data ?? this.#parser.getCurrentBuffer()).subarray(result))
      return
    }
    // A connection that stopped parsing (refused, broken, ending) leaves the parser: later bytes are dropped.
    if (this.#broken) this.#reads.unconsume()
  }

  readonly #onMessageBegin = (): void => {
    this.#messageStartedAt = Date.now()
    this.#headersComplete = false
  }

  readonly #onHeadersComplete = (_major: number, minor: number, raw: string[], methodIndex: number, url: string, _s: unknown, _m: unknown, upgrade: boolean, keepAlive: boolean): number => {
    this.#headersComplete = true
    if (this.#broken) return 0
    const method = METHODS[methodIndex] ?? 'GET'
    const { contentLength, hasBody, expectContinue, refusal } = inspectHead(method, url, raw, minor, this.#owner.limits.maxBodyBytes)
    const req = new GatewayRequest(method, url, raw, minor, this.#remoteAddress, keepAlive && !upgrade, contentLength, hasBody ? new RequestBody(this) : undefined)
    if (!hasBody) req.complete = true
    if (upgrade && refusal === undefined) {
      this.#upgrade = req
      return 0
    }
    if (hasBody && refusal === undefined) this.#parsing = req
    const pending: Pending = { req, res: new SocketResponse(this, req), expectContinue, refusal }
    if (refusal !== undefined) {
      // Nothing more is read from a connection whose request was refused.
      this.#broken = true
      pending.res.closeWhenDone()
    }
    if (this.#current === undefined) {
      this.#begin(pending)
      return 0
    }
    this.#queue.push(pending)
    if (this.#queue.length < this.#owner.limits.maxPipelinedRequests || this.#broken) return 0
    // Backpressure: parse no further (llhttp stops right after these headers) and read no more
    // until the queue drains, rather than parsing ahead without limit.
    this.#reads.pause('pipeline')
    return PAUSE_PARSER
  }

  readonly #onBody = (chunk: Buffer): void => {
    const req = this.#parsing
    if (req === undefined || this.#broken) return
    req.bodyBytes += chunk.length
    if (req.discardBody) return
    if (req.bodyBytes > this.#owner.limits.maxBodyBytes) {
      this.#bodyTooLarge(req)
      return
    }
    if (!(req.body as RequestBody).push(chunk)) this.#pauseReading()
  }

  readonly #onMessageComplete = (): void => {
    this.#messageStartedAt = 0
    const req = this.#parsing
    if (req === undefined) return
    this.#parsing = undefined
    req.complete = true
    if (!req.discardBody) req.body?.push(null)
  }

  #tooLarge (): Refusal {
    return bodyTooLarge(this.#owner.limits.maxBodyBytes)
  }

  #begin (pending: Pending): void {
    this.#current = pending
    if (pending.refusal !== undefined) {
      this.#owner.reject(pending.res, pending.refusal)
      return
    }
    if (pending.expectContinue) this.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1')
    this.#owner.request(pending.req, pending.res)
  }

  responseFinished (res: SocketResponse, closeConnection: boolean): void {
    const current = this.#current
    if (current === undefined || current.res !== res) return
    this.#current = undefined
    const req = current.req
    if (!req.complete && req.body !== undefined) {
      // Answered before the body was all in: the rest is read and dropped.
      req.discardBody = true
      req.body.destroy()
      this.resumeReading()
    }
    res.closed(true)
    if (closeConnection || this.#endAfterCurrent || this.#owner.closing || this.#dead) {
      this.#end()
      return
    }
    this.#idleSince = Date.now()
    const next = this.#queue.shift()
    if (next === undefined) return
    if (this.#reads.pausedFor('pipeline') && this.#queue.length <= this.#owner.limits.maxPipelinedRequests / 2) this.#scheduleResume()
    if (!this.socket.writableNeedDrain) {
      this.#begin(next)
      return
    }
    // The client is not reading its answers: the next one starts once it does. The queue stays
    // full meanwhile, so reading stays paused too.
    this.#current = next
    this.socket.once('drain', () => { if (this.#current === next && !this.#dead) this.#begin(next) })
  }

  /** On a later turn: never from inside a parser callback, since resuming parses the kept bytes. */
  #scheduleResume (): void {
    if (this.#resumeScheduled) return
    this.#resumeScheduled = true
    setImmediate(() => {
      this.#resumeScheduled = false
      if (!this.#reads.pausedFor('pipeline') || this.#broken || this.#dead) return
      // A message parked by the pause was not slow on the client's part: its timer restarts.
      if (this.#messageStartedAt !== 0) this.#messageStartedAt = Date.now()
      this.#reads.resumeParsing((result, bytes) => { this.#afterExecute(result, bytes) })
    })
  }

  #bodyTooLarge (req: GatewayRequest): void {
    req.discardBody = true
    this.#broken = true
    const current = this.#current
    req.body?.destroy()
    if (current !== undefined && current.req === req && !current.res.headersSent) {
      current.res.closed(false)
      current.res.closeWhenDone()
      this.#owner.reject(current.res, this.#tooLarge())
      return
    }
    this.destroy()
  }

  #parseError (err: ParseError): void {
    this.#broken = true
    // Bytes after a request that asked to close the connection are ignored, not an error.
    if (err.code === 'HPE_CLOSED_CONNECTION') return
    this.#answerAndClose(err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400)
  }

  /** A raw error response when no other response is under way; otherwise the connection is cut. */
  #answerAndClose (status: number): void {
    this.#owner.clientError(status)
    const current = this.#current
    if (current !== undefined) {
      if (current.req !== this.#parsing || current.res.headersSent) {
        if (current.req === this.#parsing) this.destroy()
        else this.#endAfterCurrent = true // a later pipelined request broke: the current one still finishes
        return
      }
      // The current request's own body was bad or too slow.
      current.req.body?.destroy()
      this.#current = undefined
      current.res.closed(false)
    }
    if (!this.socket.destroyed) this.socket.write(`${statusLine(status)}connection: close\r\ncontent-length: 0\r\n\r\n`, 'latin1')
    this.#end()
  }

  #startUpgrade (req: GatewayRequest, head: Buffer): void {
    this.#upgrade = undefined
    if (this.#current !== undefined) {
      // An upgrade pipelined behind another request is not supported.
      this.destroy()
      return
    }
    this.#dead = true
    this.socket.removeListener('data', this.#onData)
    this.socket.removeListener('close', this.#onClose)
    // Later bytes wait in the socket until the tunnel pipes them.
    this.socket.pause()
    this.#reads.handOver()
    closeParserLater(this.#parser)
    this.#owner.forget(this)
    this.#owner.upgrade(req, this.socket, head)
  }

  #pauseReading (): void {
    this.#reads.pause('body')
  }

  resumeReading (): void {
    this.#reads.resume('body')
  }

  /** Called by the server about once a second: enforces the time limits. */
  sweep (now: number): void {
    const limits = this.#owner.limits
    if (this.#endedAt !== 0) {
      if (now - this.#endedAt > LINGER_MS) this.destroy()
      return
    }
    if (this.#messageStartedAt !== 0 && !this.#reads.pausedFor('pipeline')) {
      const limit = this.#headersComplete ? limits.requestTimeoutMs : limits.headersTimeoutMs
      if (now - this.#messageStartedAt > limit) {
        this.#broken = true
        this.#messageStartedAt = 0
        this.#answerAndClose(408)
      }
    } else if (this.#current === undefined && now - this.#idleSince > limits.keepAliveTimeoutMs) {
      this.destroy()
    }
  }

  /** Closes the connection gracefully: the client reads what was written, then the socket goes. */
  #end (): void {
    if (this.#endedAt !== 0 || this.socket.destroyed) return
    this.#broken = true
    this.#endedAt = Date.now()
    this.#queue.length = 0
    // Later bytes are read and dropped (the parser, paused or not, no longer counts).
    this.#reads.releaseAll()
    this.socket.end()
  }

  /** Graceful stop: idle connections close now, busy ones after their response. */
  closeIfIdle (): void {
    if (this.idle) this.#end()
  }

  destroy (): void {
    this.socket.destroy()
  }

  /** The client sent all it will send (half-close): answer what is pending, then close. */
  readonly #onEnd = (): void => {
    if (this.#parsing !== undefined && !this.#broken) {
      // A body cut short can never complete: the request is abandoned, not left waiting.
      this.#broken = true
      this.#answerAndClose(400)
    } else if (this.#current === undefined) this.#end()
    else this.#endAfterCurrent = true
  }

  readonly #onClose = (): void => {
    this.#dead = true
    closeParserLater(this.#parser)
    const aborted = Object.assign(new Error('client closed the connection'), { code: 'ECONNRESET' })
    for (const pending of [this.#current, ...this.#queue.splice(0)]) {
      if (pending === undefined) continue
      if (!pending.req.complete) pending.req.body?.destroy(aborted)
      if (!pending.res.finished) pending.res.closed(false)
    }
    this.#current = undefined
    this.#owner.forget(this)
  }
}
