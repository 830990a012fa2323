import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { GatewayRequest } from './request.js'

/** What a response needs from its connection. */
export interface ResponseSink {
  readonly socket: Socket
  /** The server is shutting down: this response closes its connection. */
  readonly closing: boolean
  responseFinished(res: SocketResponse, closeConnection: boolean): void
  destroy(): void
}

export interface CloseListener {
  responseClosed(completed: boolean): void
}

const STATUS_LINES = new Map<number, string>()
/** `HTTP/1.1 <status> <reason>\r\n`, built once per status. */
export function statusLine (status: number): string {
  let line = STATUS_LINES.get(status)
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`
    if (STATUS_LINES.size < 200) STATUS_LINES.set(status, line)
  }
  return line
}

let dateValue = ''
let dateSecond = -1
/** The Date header value, formatted once per second. */
export function httpDate (): string {
  const now = Date.now()
  const second = Math.floor(now / 1000)
  if (second !== dateSecond) {
    dateSecond = second
    dateValue = new Date(now).toUTCString()
  }
  return dateValue
}

/**
 * What the gateway's handlers write a response through, whichever server parsed the request:
 * the native one (SocketResponse, below) or node:http (node-http-response.ts).
 */
export interface GatewayResponse {
  readonly headersSent: boolean
  /** end() was called: everything is handed to the connection. */
  readonly finished: boolean
  /** Told once: completed when the response was finished, not when the client went away first. */
  closeListener: CloseListener | undefined
  /** `headers` as flat name/value pairs, hop-by-hop ones already removed. */
  writeHead(status: number, headers: readonly string[]): void
  /** This response will be the connection's last (set before writeHead). */
  closeWhenDone(): void
  /** Queues a body chunk; false when the client is slow: wait for onDrain. */
  write(chunk: Buffer | string): boolean
  end(chunk?: Buffer | string): void
  onDrain(callback: () => void): void
  /** Ends the connection without completing the response (the client sees it cut). */
  destroy(): void
  /** Small writes wait for flush() or end() (a hint; an implementation may write at once). */
  cork(): void
  /** Hands what is pending to the connection; false when the client is slow. */
  flush(): boolean
}

/** Chunks up to this size are merged with what is pending into one write. */
const MERGE_LIMIT = 16 * 1024

/**
 * A response written straight to the client socket. The head and small body chunks are gathered
 * and leave in one write (most responses: one system call); framing follows the head —
 * Content-Length as given, else chunked for HTTP/1.1 clients, else close-delimited.
 */
export class SocketResponse implements GatewayResponse {
  readonly #sink: ResponseSink
  readonly #req: GatewayRequest
  #pending = ''
  #scheduled = false
  #corked = false
  #chunked = false
  #noBody = false
  #closeAfter = false
  #forceClose = false
  headersSent = false
  /** end() was called: everything is handed to the socket. */
  finished = false
  /** Told once: completed when the response was finished, not when the client went away first. */
  closeListener: CloseListener | undefined

  constructor (sink: ResponseSink, req: GatewayRequest) {
    this.#sink = sink
    this.#req = req
  }

  /** `headers` as flat name/value pairs, hop-by-hop ones already removed. */
  writeHead (status: number, headers: readonly string[]): void {
    if (this.headersSent) return
    this.headersSent = true
    const req = this.#req
    let head = statusLine(status)
    let hasLength = false
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string
      if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true
      head += `${name}: ${headers[i + 1] as string}\r\n`
    }
    this.#noBody = req.method === 'HEAD' || status === 204 || status === 304 || status < 200
    this.#closeAfter = this.#forceClose || !req.keepAlive || this.#sink.closing
    if (!this.#noBody && !hasLength) {
      if (req.httpMinor >= 1) {
        this.#chunked = true
        head += 'transfer-encoding: chunked\r\n'
      } else {
        // An HTTP/1.0 client learns where the body ends when the connection closes.
        this.#closeAfter = true
      }
    }
    if (this.#closeAfter) head += 'connection: close\r\n'
    else if (req.httpMinor === 0) head += 'connection: keep-alive\r\n'
    this.#pending += head + '\r\n'
    this.#schedule()
  }

  /** This response will be the connection's last (set before writeHead). */
  closeWhenDone (): void {
    this.#forceClose = true
  }

  /** Queues a body chunk; false when the client is slow: wait for onDrain. */
  write (chunk: Buffer | string): boolean {
    if (this.finished || this.#noBody) return true
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    const length = data.length
    if (length === 0) return true
    const prefix = this.#chunked ? `${length.toString(16)}\r\n` : ''
    const suffix = this.#chunked ? '\r\n' : ''
    if (length <= MERGE_LIMIT) {
      // latin1 maps every byte to one character and back: binary-safe, and one write with the head.
      this.#pending += prefix + data.toString('latin1') + suffix
      if (this.#pending.length >= MERGE_LIMIT) return this.flush()
      this.#schedule()
      return true
    }
    const socket = this.#sink.socket
    socket.cork()
    if (this.#pending !== '' || prefix !== '') socket.write(this.#pending + prefix, 'latin1')
    this.#pending = ''
    let ok = socket.write(data)
    if (suffix !== '') ok = socket.write(suffix, 'latin1')
    socket.uncork()
    return ok
  }

  end (chunk?: Buffer | string): void {
    if (this.finished) return
    if (!this.headersSent) this.writeHead(200, ['content-length', String(chunk === undefined ? 0 : Buffer.byteLength(chunk))])
    if (chunk !== undefined) this.write(chunk)
    if (this.#chunked) this.#pending += '0\r\n\r\n'
    this.finished = true
    this.flush()
    this.#sink.responseFinished(this, this.#closeAfter)
  }

  /** Calls back once the client has taken what was written. */
  onDrain (callback: () => void): void {
    this.#sink.socket.once('drain', callback)
  }

  /** Ends the connection without completing the response (the client sees it cut). */
  destroy (): void {
    this.#sink.destroy()
  }

  /** The connection ended. */
  closed (completed: boolean): void {
    const listener = this.closeListener
    this.closeListener = undefined
    listener?.responseClosed(completed)
  }

  /**
   * From now on small writes wait for flush() or end(), instead of leaving on the next microtask:
   * for a caller that knows when a batch of writes ends (the upstream pool, after each read).
   */
  cork (): void {
    this.#corked = true
  }

  #schedule (): void {
    if (this.#scheduled || this.#corked) return
    this.#scheduled = true
    queueMicrotask(() => {
      this.#scheduled = false
      this.flush()
    })
  }

  /** Hands what is pending to the socket; false when the client is slow. */
  flush (): boolean {
    if (this.#sink.socket.destroyed) {
      this.#pending = ''
      return false
    }
    if (this.#pending === '') return !this.#sink.socket.writableNeedDrain
    const text = this.#pending
    this.#pending = ''
    return this.#sink.socket.write(text, 'latin1')
  }
}
