import { connect, type Socket } from 'node:net'
import type { Readable } from 'node:stream'
import { HTTPParser, closeParserLater, consumeSocket, createParser, setReading, type NativeParser } from './http/native-parser.js'
import { unwatch, watch } from './pool-sweep.js'
import { tuneUpstreamSocket, type TcpOptions } from './socket-options.js'

/** The handler shape the proxy's attempts implement (undici's dispatch handler, legacy form). */
export interface ResponseHandler {
  onConnect(abort: (err?: Error) => void): void
  onHeaders(statusCode: number, rawHeaders: Array<Buffer | string>, resume: () => void): boolean
  onData(chunk: Buffer): boolean
  onComplete(trailers: string[] | null): void
  onError(err: Error): void
  /** After each read from the instance, once its bytes were handed over (native pool only). */
  onReadComplete?(): void
}

export interface DispatchOptions {
  readonly path: string
  readonly method: string
  readonly headers: string[]
  readonly body: Buffer | Readable | null
  readonly headersTimeout: number
  readonly bodyTimeout: number
}

function coded (message: string, code: string): Error {
  return Object.assign(new Error(message), { code })
}

const IDLE_TIMEOUT_MS = 30_000

/** One keep-alive connection: one request at a time, the response parsed by llhttp. */
class Connection {
  readonly socket: Socket
  readonly #pool: NativePool
  readonly #parser: NativeParser
  #handler: ResponseHandler | undefined
  /** When the response in progress times out (epoch ms); 0 for none. */
  #deadline = 0
  #deadlineCode = ''
  /** When this connection went idle; 0 while busy. */
  #idleSince = 0
  #idleTimeoutMs = IDLE_TIMEOUT_MS
  #keepAliveHeader = ''
  #keepAlive = true
  #skipBody = false
  #informational = false
  #bodyTimeoutMs = 0
  #connected = false
  #dead = false
  #paused = false
  /** The parser reads the socket itself once connected (see consumeSocket). */
  #consumed = false

  constructor (pool: NativePool, host: string, port: number, connectTimeoutMs: number, tcp: TcpOptions | undefined) {
    this.#pool = pool
    this.socket = connect(port, host)
    this.socket.setNoDelay(true)
    const connectTimer = setTimeout(() => { this.#fail(coded('connect timeout', 'UND_ERR_CONNECT_TIMEOUT')) }, connectTimeoutMs)
    this.socket.once('connect', () => {
      this.#connected = true
      clearTimeout(connectTimer)
      if (tcp !== undefined) tuneUpstreamSocket(this.socket, tcp)
      this.#consumed = consumeSocket(this.#parser, this.socket)
      if (this.#consumed && this.#paused) setReading(this.socket, true, false)
    })
    const afterExecute = (result: number | Error): void => {
      if (result instanceof Error) this.#fail(coded(`bad response: ${result.message}`, 'UND_ERR_SOCKET'))
      else this.#handler?.onReadComplete?.()
    }
    const parser = this.#parser = createParser(HTTPParser.RESPONSE, 0, {
      messageBegin: null,
      headersComplete: (_maj, _min, headers, _m, _u, status, _sm, _up, keepAlive) => this.#onHeaders(headers, status, keepAlive),
      body: (chunk: Buffer) => { this.#onBody(chunk) },
      messageComplete: () => { this.#onComplete() },
      execute: afterExecute,
    })
    this.socket.on('data', (data: Buffer) => {
      if (!this.#dead) afterExecute(parser.execute(data))
    })
    this.socket.on('error', (err) => { clearTimeout(connectTimer); this.#fail(err) })
    this.socket.on('close', () => { clearTimeout(connectTimer); this.#fail(coded('other side closed', this.#connected ? 'UND_ERR_SOCKET' : 'ECONNREFUSED')) })
  }

  readonly #abort = (err?: Error): void => { this.#fail(err ?? coded('aborted', 'UND_ERR_ABORTED')) }

  get busy (): boolean { return this.#handler !== undefined }

  send (options: DispatchOptions, handler: ResponseHandler): void {
    this.#idleSince = 0
    this.#handler = handler
    this.#skipBody = options.method === 'HEAD'
    this.#bodyTimeoutMs = options.bodyTimeout
    this.#arm(options.headersTimeout, 'UND_ERR_HEADERS_TIMEOUT')
    handler.onConnect(this.#abort)
    if (this.#dead) return
    let head = `${options.method} ${options.path} HTTP/1.1\r\n`
    const h = options.headers
    const body = options.body
    let hasLength = false
    let hasHost = false
    for (let i = 0; i < h.length; i += 2) {
      const name = h[i] as string
      if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true
      else if (name.length === 4 && name.toLowerCase() === 'host') hasHost = true
      head += `${name}: ${h[i + 1] as string}\r\n`
    }
    // HTTP/1.0 clients may send no Host; the instance, spoken to in HTTP/1.1, needs one.
    if (!hasHost) head += `host: ${this.#pool.authority}\r\n`
    if (body === null || Buffer.isBuffer(body)) {
      if (body === null || body.length === 0) {
        this.socket.write(head + '\r\n', 'latin1')
        return
      }
      if (!hasLength) head += `content-length: ${body.length}\r\n`
      // A small body leaves with the head in one write (latin1 keeps every byte as it is).
      if (body.length <= 16 * 1024) this.socket.write(`${head}\r\n${body.toString('latin1')}`, 'latin1')
      else {
        this.socket.write(head + '\r\n', 'latin1')
        this.socket.write(body)
      }
      return
    }
    // A streamed body: as received when its length is known, else re-framed in chunks.
    this.socket.write(hasLength ? head + '\r\n' : `${head}transfer-encoding: chunked\r\n\r\n`, 'latin1')
    body.on('data', (chunk: Buffer) => {
      let ok: boolean
      if (hasLength) ok = this.socket.write(chunk)
      else {
        this.socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1')
        this.socket.write(chunk)
        ok = this.socket.write('\r\n', 'latin1')
      }
      if (!ok) {
        body.pause()
        this.socket.once('drain', () => body.resume())
      }
    })
    body.on('end', () => { if (!hasLength && !this.#dead) this.socket.write('0\r\n\r\n') })
    body.on('error', (err) => { this.#fail(err) })
  }

  #arm (ms: number, code: string): void {
    this.#deadline = ms > 0 ? Date.now() + ms : 0
    this.#deadlineCode = code
  }

  /** Called by the pools' sweep. */
  sweep (now: number): void {
    if (this.#deadline !== 0 && now >= this.#deadline) {
      const code = this.#deadlineCode
      this.#fail(coded(`${code === 'UND_ERR_HEADERS_TIMEOUT' ? 'headers' : 'body'} timeout`, code))
    } else if (this.#idleSince !== 0 && now - this.#idleSince >= this.#idleTimeoutMs) {
      this.#fail(undefined)
    }
  }

  #onHeaders (headers: string[], status: number, keepAlive: boolean): number {
    const handler = this.#handler
    if (handler === undefined) return 1
    if (status < 200) {
      // 100 Continue and other informational responses: the real one follows.
      this.#informational = true
      return 1
    }
    this.#keepAlive = keepAlive
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string
      if (name.length === 10 && name.toLowerCase() === 'keep-alive') {
        const value = headers[i + 1] as string
        // Instances repeat the same value: parsed once per connection.
        if (value !== this.#keepAliveHeader) {
          this.#keepAliveHeader = value
          const timeout = /timeout=(\d+)/i.exec(value)
          // Close idle connections a second before the instance would, so no request races its close.
          if (timeout !== null) this.#idleTimeoutMs = Math.max(0, Math.min(IDLE_TIMEOUT_MS, Number(timeout[1]) * 1000 - 1000))
        }
      }
    }
    this.#arm(this.#bodyTimeoutMs, 'UND_ERR_BODY_TIMEOUT')
    const go = handler.onHeaders(status, headers, this.#resume)
    if (go === false) this.#pause()
    return this.#skipBody || status === 204 || status === 304 ? 1 : 0
  }

  #onBody (chunk: Buffer): void {
    const handler = this.#handler
    if (handler === undefined) return
    if (this.#bodyTimeoutMs > 0) this.#deadline = Date.now() + this.#bodyTimeoutMs
    if (!handler.onData(chunk)) this.#pause()
  }

  // Pause and resume only on backpressure: an unneeded resume() costs a system call per response.
  #pause (): void {
    if (this.#paused) return
    this.#paused = true
    setReading(this.socket, this.#consumed, false)
  }

  readonly #resume = (): void => {
    if (!this.#paused) return
    this.#paused = false
    setReading(this.socket, this.#consumed, true)
  }

  #onComplete (): void {
    if (this.#informational) {
      this.#informational = false
      return
    }
    const handler = this.#handler
    if (handler === undefined) return
    this.#deadline = 0
    this.#handler = undefined
    this.#resume()
    handler.onComplete(null)
    if (!this.#keepAlive || this.#dead) {
      this.#fail(undefined)
      return
    }
    if (this.#idleTimeoutMs === 0) {
      this.#fail(undefined)
      return
    }
    this.#idleSince = Date.now()
    this.#pool.release(this)
  }

  /** Ends the connection; a request in progress fails with err. */
  #fail (err: Error | undefined): void {
    if (this.#dead) return
    this.#dead = true
    this.#deadline = 0
    this.#idleSince = 0
    this.socket.destroy()
    // Never free the parser while it may be executing (this can run inside its callbacks).
    closeParserLater(this.#parser)
    this.#pool.forget(this)
    const handler = this.#handler
    this.#handler = undefined
    if (handler !== undefined) handler.onError(err ?? coded('connection closed', 'UND_ERR_SOCKET'))
  }

  destroy (): void {
    this.#fail(coded('pool destroyed', 'UND_ERR_DESTROYED'))
  }
}

/**
 * A keep-alive connection pool on raw sockets with Node's native HTTP parser: the lower-overhead
 * alternative to undici's Pool on the proxy's hot path (same dispatch-handler interface). One
 * request per connection at a time; requests beyond `connections` wait in order.
 */
export class NativePool {
  /** Handlers get onReadComplete after every read. */
  readonly signalsReadComplete = true
  readonly #host: string
  /** host:port, for requests that came without a Host header. */
  readonly authority: string
  readonly #port: number
  readonly #connections: number
  readonly #connectTimeoutMs: number
  readonly #tcp: TcpOptions | undefined
  readonly #idle: Connection[] = []
  readonly #all = new Set<Connection>()
  readonly #queue: Array<[DispatchOptions, ResponseHandler]> = []
  #closed = false

  constructor (url: string, options: { connections: number, connectTimeoutMs: number, tcp?: TcpOptions }) {
    const parsed = new URL(url)
    this.#host = parsed.hostname
    this.#port = Number(parsed.port === '' ? 80 : parsed.port)
    this.authority = parsed.host
    this.#connections = options.connections
    this.#connectTimeoutMs = options.connectTimeoutMs
    this.#tcp = options.tcp
    watch(this)
  }

  sweep (now: number): void {
    for (const connection of this.#all) connection.sweep(now)
  }

  dispatch (options: DispatchOptions, handler: ResponseHandler): void {
    if (this.#closed) {
      handler.onError(coded('pool closed', 'UND_ERR_DESTROYED'))
      return
    }
    const idle = this.#idle.pop()
    if (idle !== undefined) {
      idle.send(options, handler)
      return
    }
    if (this.#all.size < this.#connections) {
      const connection = new Connection(this, this.#host, this.#port, this.#connectTimeoutMs, this.#tcp)
      this.#all.add(connection)
      connection.send(options, handler)
      return
    }
    this.#queue.push([options, handler])
  }

  release (connection: Connection): void {
    if (this.#closed) {
      connection.destroy()
      return
    }
    const next = this.#queue.shift()
    if (next !== undefined) connection.send(next[0], next[1])
    else this.#idle.push(connection)
  }

  forget (connection: Connection): void {
    this.#all.delete(connection)
    const i = this.#idle.indexOf(connection)
    if (i !== -1) this.#idle.splice(i, 1)
    // A waiting request gets the freed slot.
    const next = this.#queue.shift()
    if (next !== undefined) this.dispatch(next[0], next[1])
  }

  /** Closes the idle connections: after the instance was unreachable they may lead nowhere. */
  dropIdle (): void {
    for (const c of this.#idle.splice(0)) c.destroy()
  }

  async close (): Promise<void> {
    this.#closed = true
    for (const c of [...this.#idle]) c.destroy()
    // Busy connections finish their response; then they are not reused.
    const deadline = Date.now() + 10_000
    while ([...this.#all].some((c) => c.busy) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    for (const c of [...this.#all]) c.destroy()
    for (const [, handler] of this.#queue.splice(0)) handler.onError(coded('pool closed', 'UND_ERR_DESTROYED'))
    unwatch(this)
  }

  destroy (): void {
    this.#closed = true
    for (const c of [...this.#all]) c.destroy()
    unwatch(this)
  }
}
