import { Readable } from 'node:stream'

/** What a request's body stream needs from its connection: flow control. */
export interface BodySource {
  resumeReading(): void
}

/** A request body, fed by the parser; reading it resumes the socket after backpressure. */
export class RequestBody extends Readable {
  readonly #source: BodySource

  constructor (source: BodySource) {
    super()
    this.#source = source
  }

  override _read (): void {
    this.#source.resumeReading()
  }
}

/**
 * One request as the gateway's own HTTP/1 server parsed it: raw headers in arrival order (no
 * header object is built), and a body stream only when the request has a body.
 */
export class GatewayRequest {
  readonly method: string
  readonly url: string
  /** Name, value, name, value… as received. */
  readonly rawHeaders: string[]
  readonly httpMinor: number
  readonly remoteAddress: string
  /** The client asked to keep the connection (HTTP/1.1 default, or 1.0 with keep-alive). */
  readonly keepAlive: boolean
  /** As the client declared it; undefined for chunked bodies and requests without one. */
  readonly contentLength: string | undefined
  /** Present when the request carries a body (Content-Length > 0 or chunked). */
  readonly body: RequestBody | undefined
  /** The whole request, body included, has been received. */
  complete = false
  /** The response went out before the body was all received: the rest is read and dropped. */
  discardBody = false
  bodyBytes = 0

  constructor (method: string, url: string, rawHeaders: string[], httpMinor: number, remoteAddress: string, keepAlive: boolean, contentLength: string | undefined, body: RequestBody | undefined) {
    this.method = method
    this.url = url
    this.rawHeaders = rawHeaders
    this.httpMinor = httpMinor
    this.remoteAddress = remoteAddress
    this.keepAlive = keepAlive
    this.contentLength = contentLength
    this.body = body
  }

  /** The first value of a header; `name` in lower case. */
  header (name: string): string | undefined {
    const raw = this.rawHeaders
    for (let i = 0; i < raw.length; i += 2) {
      const n = raw[i] as string
      if (n.length === name.length && n.toLowerCase() === name) return raw[i + 1]
    }
    return undefined
  }
}
