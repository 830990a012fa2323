import { OutgrowError, type ErrorCode } from '../errors/index.js'
import { httpDate, type GatewayResponse } from './http/response.js'

/** Answers with the error's status and its JSON form; a response already under way is cut instead. */
export function sendError (res: GatewayResponse, code: ErrorCode, message?: string, extra: readonly string[] = []): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const err = new OutgrowError(code, message)
  const body = JSON.stringify(err.toJSON())
  const headers = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), 'date', httpDate()]
  if (err.status === 503 && !extra.includes('retry-after')) headers.push('retry-after', '1')
  res.writeHead(err.status, headers.concat(extra))
  res.end(body)
}
