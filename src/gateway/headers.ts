import type { GatewayRequest } from './http/request.js'
import type { TrustedProxies } from './trusted-proxies.js'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'])

/** Name lengths worth lower-casing: other headers pass through as they came, without a look-up. */
function lengths (names: Iterable<string>): Uint8Array {
  const table = new Uint8Array(64)
  for (const name of names) table[name.length] = 1
  return table
}
const HOP_BY_HOP_LENGTHS = lengths(HOP_BY_HOP)
const REQUEST_LENGTHS = lengths([...HOP_BY_HOP, 'idempotency-key', 'cookie', 'x-forwarded-for', 'x-forwarded-proto', 'x-request-id', 'x-real-ip', 'expect'])

/** Headers named in Connection are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionTokens (value: string | undefined): Set<string> | undefined {
  // The common values name no further headers; skip the parsing for them.
  if (value === undefined || value === '' || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'upgrade' || value === 'Upgrade') return undefined
  return new Set(value.toLowerCase().split(',').map((t) => t.trim()).filter((t) => t !== 'close' && t !== 'keep-alive'))
}

export interface ForwardingInfo {
  readonly clientIp: string
  readonly proto: string
  readonly forwardedFor: string
  readonly requestId: string
}

/** What the proxy needs from a request, read in one pass over its raw headers. */
export interface ScannedRequest {
  /** Headers for the instance: raw order kept, hop-by-hop dropped, forwarding headers set. */
  readonly headers: string[]
  readonly info: ForwardingInfo
  readonly idempotencyKey: boolean
  readonly cookie: string | undefined
}

/**
 * One pass over the raw headers (no header object is built on this path).
 * X-Forwarded-For/-Proto and X-Request-Id are believed only from trusted peers, otherwise replaced;
 * the client address is the first untrusted one from the right of X-Forwarded-For.
 */
export function scanRequest (req: GatewayRequest, trusted: TrustedProxies, newId: () => string, keepUpgrade = false): ScannedRequest {
  const raw = req.rawHeaders
  const out: string[] = []
  let idempotencyKey = false
  let cookie: string | undefined
  let connection: string | undefined
  let xff: string | undefined
  let xfp: string | undefined
  let requestId: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    const value = raw[i + 1] as string
    if (name.length >= 64 || REQUEST_LENGTHS[name.length] === 0) {
      out.push(name, value)
      continue
    }
    const lower = name.toLowerCase()
    switch (lower) {
      case 'idempotency-key': idempotencyKey = true; break
      case 'cookie': cookie = cookie === undefined ? value : `${cookie}; ${value}`; break
      case 'connection':
        connection = value
        if (!keepUpgrade) continue
        break
      case 'x-forwarded-for': xff = xff === undefined ? value : `${xff}, ${value}`; continue
      case 'x-forwarded-proto': xfp = value; continue
      case 'x-request-id': requestId = value; continue
      case 'x-real-ip': continue
      // The gateway answered 100-continue itself; the body follows without asking.
      case 'expect': continue
      default:
        if (HOP_BY_HOP.has(lower) && !(keepUpgrade && lower === 'upgrade')) continue
    }
    out.push(name, value)
  }
  const extra = connectionTokens(connection)
  if (extra !== undefined && extra.size > 0) {
    // Rare: the client named further hop-by-hop headers in Connection.
    for (let i = out.length - 2; i >= 0; i -= 2) {
      const lower = (out[i] as string).toLowerCase()
      if (extra.has(lower) && !(keepUpgrade && lower === 'upgrade')) out.splice(i, 2)
    }
  }
  const peer = req.remoteAddress
  let info: ForwardingInfo
  if (trusted.has(peer)) {
    info = {
      clientIp: trusted.clientAddress(peer, xff),
      proto: xfp ?? 'http',
      forwardedFor: xff === undefined || xff === '' ? peer : `${xff}, ${peer}`,
      requestId: requestId !== undefined && requestId !== '' && requestId.length <= 200 ? requestId : newId(),
    }
  } else {
    info = { clientIp: peer, proto: 'http', forwardedFor: peer, requestId: newId() }
  }
  out.push('x-forwarded-for', info.forwardedFor, 'x-forwarded-proto', info.proto, 'x-real-ip', info.clientIp, 'x-request-id', info.requestId)
  return { headers: out, info, idempotencyKey, cookie }
}

/** Response headers for the client (undici's Buffer pairs or the native parser's strings), hop-by-hop removed. */
export function clientResponseHeaders (raw: ReadonlyArray<Buffer | string>, extra: readonly string[]): string[] {
  const out: string[] = []
  let connection: Set<string> | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as Buffer | string
    const v = raw[i + 1] as Buffer | string
    const name = typeof n === 'string' ? n : n.toString('latin1')
    const value = typeof v === 'string' ? v : v.toString('latin1')
    if (name.length >= 64 || HOP_BY_HOP_LENGTHS[name.length] === 0) {
      out.push(name, value)
      continue
    }
    const lower = name.toLowerCase()
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') connection = connectionTokens(value)
      continue
    }
    out.push(name, value)
  }
  if (connection !== undefined && connection.size > 0) {
    // Rare: the instance named extra hop-by-hop headers in Connection; drop them too.
    for (let i = out.length - 2; i >= 0; i -= 2) if (connection.has((out[i] as string).toLowerCase())) out.splice(i, 2)
  }
  for (const value of extra) out.push(value)
  return out
}

export function cookieValue (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  const start = header.indexOf(`${name}=`)
  if (start === -1 || (start > 0 && header[start - 1] !== ' ' && header[start - 1] !== ';')) return undefined
  const from = start + name.length + 1
  const end = header.indexOf(';', from)
  return decodeURIComponent(header.slice(from, end === -1 ? undefined : end).trim())
}
