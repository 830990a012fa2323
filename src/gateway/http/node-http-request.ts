import type { IncomingMessage } from 'node:http'
import { GatewayRequest, RequestBody } from './request.js'
import { inspectHead, type RequestHead } from './request-head.js'

/** node:http's own view of keep-alive is not public: the same rule, from the request line and Connection. */
function wantsKeepAlive (incoming: IncomingMessage): boolean {
  const connection = (incoming.headers.connection ?? '').toLowerCase()
  if (incoming.httpVersionMinor >= 1) return !/(^|,)\s*close\s*(,|$)/.test(connection)
  return /(^|,)\s*keep-alive\s*(,|$)/.test(connection)
}

export interface ReceivedRequest { readonly req: GatewayRequest, readonly head: RequestHead }

/**
 * A GatewayRequest from node:http's IncomingMessage: the same raw headers and the same checks
 * (inspectHead) as the native server. The body is relayed into a RequestBody with backpressure
 * (reading it resumes the socket), counted against `maxBodyBytes`: a chunked body over the limit
 * calls `tooLarge` and nothing more of it is passed on.
 */
export function receiveRequest (incoming: IncomingMessage, maxBodyBytes: number, tooLarge: (req: GatewayRequest) => void): ReceivedRequest {
  const method = incoming.method ?? 'GET'
  const url = incoming.url ?? '/'
  const head = inspectHead(method, url, incoming.rawHeaders, incoming.httpVersionMinor, maxBodyBytes)
  const wanted = head.hasBody && head.refusal === undefined
  const body = wanted ? new RequestBody({ resumeReading: () => { incoming.resume() } }) : undefined
  const req = new GatewayRequest(method, url, incoming.rawHeaders, incoming.httpVersionMinor, incoming.socket.remoteAddress ?? '', wantsKeepAlive(incoming), head.contentLength, body)
  if (body === undefined) {
    req.complete = !head.hasBody
    // Not resumed here: reading an IncomingMessage resumes its socket, undoing a pipelining pause.
    // node:http drops an unread body itself once the response is finished.
    return { req, head }
  }
  incoming.on('data', (chunk: Buffer) => {
    req.bodyBytes += chunk.length
    if (req.discardBody) return
    if (req.bodyBytes > maxBodyBytes) {
      req.discardBody = true
      tooLarge(req)
      return
    }
    if (!body.push(chunk)) incoming.pause()
  })
  incoming.on('end', () => {
    req.complete = true
    if (!req.discardBody) body.push(null)
  })
  // 'close' before 'end': the client went away mid-body ('aborted' is deprecated).
  incoming.on('close', () => {
    if (!req.complete && !req.discardBody) body.destroy(Object.assign(new Error('client closed the connection'), { code: 'ECONNRESET' }))
  })
  incoming.on('error', () => {})
  return { req, head }
}

/** The response went out before the body was all in: the rest is read and dropped. */
export function discardRest (req: GatewayRequest, incoming: IncomingMessage): void {
  if (req.complete) return
  req.discardBody = true
  req.body?.destroy()
  incoming.resume()
}
