import { request } from 'undici'
import { OutgrowError, type ErrorCode } from '../errors/index.js'
import { readControlEndpoint, type ControlEndpoint } from './control-files.js'

/** Talks to the supervisor of the stack on a data dir, with the token kept there. */
export class ControlClient {
  readonly endpoint: ControlEndpoint

  constructor (endpoint: ControlEndpoint) {
    this.endpoint = endpoint
  }

  static forDataDir (dataDir: string): ControlClient {
    const endpoint = readControlEndpoint(dataDir)
    if (endpoint === undefined) throw new OutgrowError('OUTGROW_CONTROL_UNAVAILABLE', `no running stack on ${dataDir}: start one with outgrow up (or pass --data-dir)`)
    return new ControlClient(endpoint)
  }

  async call<T> (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
    let res
    try {
      res = await request(new URL(path, this.endpoint.url), {
        method,
        headers: { authorization: `Bearer ${this.endpoint.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? null : JSON.stringify(body),
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      })
    } catch (err) {
      throw new OutgrowError('OUTGROW_CONTROL_UNAVAILABLE', `the supervisor at ${this.endpoint.url} does not answer: ${(err as Error).message}`)
    }
    const text = await res.body.text()
    if (res.statusCode >= 400) {
      let code: ErrorCode = 'OUTGROW_INTERNAL'
      let message = text
      try {
        const parsed = JSON.parse(text) as { error?: { code?: ErrorCode, message?: string } }
        code = parsed.error?.code ?? code
        message = parsed.error?.message ?? message
      } catch {}
      throw new OutgrowError(code, message)
    }
    return (res.headers['content-type']?.toString().startsWith('application/json') === true ? JSON.parse(text) : text) as T
  }
}
