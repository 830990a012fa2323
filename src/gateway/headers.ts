import type { IncomingMessage } from 'node:http'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'])

/** Headers named in Connection are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionTokens (value: string | undefined): Set<string> | undefined {
  if (value === undefined || value === '') return undefined
  return new Set(value.toLowerCase().split(',').map((t) => t.trim()).filter((t) => t !== 'close' && t !== 'keep-alive'))
}

export interface ForwardingInfo {
  readonly clientIp: string
  readonly proto: string
  readonly forwardedFor: string
  readonly requestId: string
}

/** The client as far as the gateway can trust: X-Forwarded-* are believed only from trusted peers. */
export function forwardingInfo (req: IncomingMessage, trusted: ReadonlySet<string>, newId: () => string): ForwardingInfo {
  const peer = req.socket.remoteAddress ?? ''
  const headers = req.headers
  if (trusted.has(peer)) {
    const xff = headers['x-forwarded-for']
    const chain = typeof xff === 'string' && xff !== '' ? xff : undefined
    const first = chain?.split(',')[0]?.trim()
    const id = headers['x-request-id']
    return {
      clientIp: first !== undefined && first !== '' ? first : peer,
      proto: typeof headers['x-forwarded-proto'] === 'string' ? headers['x-forwarded-proto'] : 'http',
      forwardedFor: chain === undefined ? peer : `${chain}, ${peer}`,
      requestId: typeof id === 'string' && id !== '' && id.length <= 200 ? id : newId(),
    }
  }
  return { clientIp: peer, proto: 'http', forwardedFor: peer, requestId: newId() }
}

/** Request headers for the instance: raw order kept, hop-by-hop and spoofable ones replaced. */
export function upstreamRequestHeaders (req: IncomingMessage, info: ForwardingInfo, keepUpgrade = false): string[] {
  const raw = req.rawHeaders
  const extra = connectionTokens(req.headers.connection)
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    const lower = name.toLowerCase()
    if (lower === 'x-forwarded-for' || lower === 'x-forwarded-proto' || lower === 'x-request-id' || lower === 'x-real-ip') continue
    const upgradeHeader = keepUpgrade && (lower === 'upgrade' || lower === 'connection')
    if (!upgradeHeader && (HOP_BY_HOP.has(lower) || extra?.has(lower) === true)) continue
    out.push(name, raw[i + 1] as string)
  }
  out.push('x-forwarded-for', info.forwardedFor, 'x-forwarded-proto', info.proto, 'x-real-ip', info.clientIp, 'x-request-id', info.requestId)
  return out
}

/** Response headers for the client, from undici's raw Buffer pairs, hop-by-hop removed. */
export function clientResponseHeaders (raw: Buffer[], extra: readonly string[]): string[] {
  const out: string[] = []
  let connection: Set<string> | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1')
    const value = (raw[i + 1] as Buffer).toString('latin1')
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
