import type { ServerResponse } from 'node:http'
import type { CloseListener, GatewayResponse } from './response.js'

/** What a response tells its connection (node-http-connection.ts). */
export interface ResponseDone {
  responseDone(res: NodeHttpResponse): void
  /** The server is shutting down: this response closes its connection. */
  readonly closing: boolean
}

/**
 * A GatewayResponse on node:http's ServerResponse, which does the framing (Content-Length as
 * given, else chunked for HTTP/1.1, else close-delimited) and keep-alive. Writes go straight to
 * it: node:http merges the head with the first chunk itself, so cork() and flush() have nothing to do.
 */
export class NodeHttpResponse implements GatewayResponse {
  readonly #res: ServerResponse
  readonly #owner: ResponseDone
  readonly #noBody: boolean
  #forceClose = false
  headersSent = false
  finished = false
  closeListener: CloseListener | undefined

  constructor (res: ServerResponse, owner: ResponseDone, method: string) {
    this.#res = res
    this.#owner = owner
    this.#noBody = method === 'HEAD'
    // The native server sends no Date of its own either: the instance's, or the handler's, goes out.
    res.sendDate = false
    res.once('close', () => { if (!this.finished) this.closed(false) })
  }

  writeHead (status: number, headers: readonly string[]): void {
    if (this.headersSent) return
    this.headersSent = true
    const list = this.#forceClose || this.#owner.closing ? headers.concat('connection', 'close') : headers.slice()
    try {
      this.#res.writeHead(status, list)
    } catch {
      // node:http validates names and values; one it refuses means the client gets a cut response, as on a bad upstream.
      this.destroy()
    }
  }

  closeWhenDone (): void {
    this.#forceClose = true
  }

  write (chunk: Buffer | string): boolean {
    if (this.finished || this.#noBody || this.#res.destroyed) return true
    if (!this.headersSent) this.writeHead(200, [])
    return this.#res.write(chunk)
  }

  end (chunk?: Buffer | string): void {
    if (this.finished) return
    if (!this.headersSent) this.writeHead(200, ['content-length', String(chunk === undefined ? 0 : Buffer.byteLength(chunk))])
    this.finished = true
    if (this.#res.destroyed) return
    if (chunk !== undefined && !this.#noBody) this.#res.end(chunk)
    else this.#res.end()
    // As the native server does: finished means handed over, and the handler hears it now.
    this.closed(true)
    this.#owner.responseDone(this)
  }

  onDrain (callback: () => void): void {
    this.#res.once('drain', callback)
  }

  destroy (): void {
    this.#res.destroy()
  }

  cork (): void {}

  flush (): boolean {
    return !this.#res.writableNeedDrain
  }

  /** Tells the close listener once; completed is false when the client went away first. */
  closed (completed: boolean): void {
    const listener = this.closeListener
    this.closeListener = undefined
    listener?.responseClosed(completed)
  }
}
