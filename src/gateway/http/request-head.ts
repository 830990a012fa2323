import type { ErrorCode } from '../../errors/index.js'

/** A request the connection answers itself with an error; `counter` names it in the gateway's metrics. */
export interface Refusal { readonly code: ErrorCode, readonly message: string, readonly counter: string }

/** What the connection needs to know about a request from its head, read in one pass. */
export interface RequestHead {
  readonly contentLength: string | undefined
  readonly hasBody: boolean
  readonly expectContinue: boolean
  /** Why the request is answered with an error instead of being handled. */
  readonly refusal: Refusal | undefined
}

export function bodyTooLarge (maxBodyBytes: number): Refusal {
  return { code: 'OUTGROW_PAYLOAD_TOO_LARGE', message: `request body over ${maxBodyBytes} bytes`, counter: 'body_too_large' }
}

/** Reads framing headers and refuses what the gateway never serves: CONNECT, non-path targets, Host-less HTTP/1.1, bodies over the limit. */
export function inspectHead (method: string, url: string, raw: readonly string[], minor: number, maxBodyBytes: number): RequestHead {
  let contentLength: string | undefined
  let chunked = false
  let expectContinue = false
  let host = false
  // Only names of the right length are lower-cased: one cheap pass.
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    const length = name.length
    if (length === 14 && name.toLowerCase() === 'content-length') contentLength = raw[i + 1]
    else if (length === 17 && name.toLowerCase() === 'transfer-encoding') chunked = true
    else if (length === 4 && name.toLowerCase() === 'host') host = true
    else if (length === 6 && name.toLowerCase() === 'expect') expectContinue = (raw[i + 1] as string).toLowerCase() === '100-continue'
  }
  const hasBody = chunked || (contentLength !== undefined && contentLength !== '0')
  let refusal: Refusal | undefined
  if (method === 'CONNECT') refusal = { code: 'OUTGROW_BAD_REQUEST', message: 'CONNECT is not supported: this is not a forward proxy', counter: 'bad_request' }
  // Absolute-form targets (GET http://elsewhere/ …) would make this an open proxy.
  else if (url.charCodeAt(0) !== 47 /* '/' */) refusal = { code: 'OUTGROW_BAD_REQUEST', message: 'request target must be a path', counter: 'bad_target' }
  else if (!host && minor >= 1) refusal = { code: 'OUTGROW_BAD_REQUEST', message: 'HTTP/1.1 requests need a Host header', counter: 'bad_request' }
  else if (contentLength !== undefined && Number(contentLength) > maxBodyBytes) refusal = bodyTooLarge(maxBodyBytes)
  return { contentLength, hasBody, expectContinue: expectContinue && hasBody, refusal }
}
