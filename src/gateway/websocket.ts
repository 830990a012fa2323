import { connect, type Socket } from 'node:net'
import type { GatewayRequest } from './http/request.js'
import { countLocal } from './metrics.js'
import type { GatewayProxy, Route } from './proxy.js'
import type { UpstreamCluster } from './cluster.js'
import { scanRequest, type ScannedRequest } from './headers.js'
import type { TrustedProxies } from './trusted-proxies.js'

const STATUS_TEXT: Record<string, string> = { OUTGROW_RATE_LIMITED: '429 Too Many Requests', OUTGROW_DEPENDENCY_UNAVAILABLE: '503 Service Unavailable' }

/**
 * Passes WebSocket (and other Upgrade) requests through: rate limited like any request of their
 * route, then the chosen instance gets the request with its Upgrade headers, and from then on
 * bytes are piped both ways until either side closes.
 */
export function handleUpgrade (proxy: GatewayProxy, cluster: UpstreamCluster, trusted: TrustedProxies, req: GatewayRequest, client: Socket, head: Buffer): void {
  const route = proxy.route(req.url)
  const scanned = scanRequest(req, trusted, () => `ws-${Date.now().toString(36)}`, true)
  client.on('error', () => {})
  void proxy.admit(req, route, scanned.info.clientIp).then((verdict) => {
    if (client.destroyed) return
    if (verdict.allowed) {
      tunnel(route, cluster, req, scanned, client, head)
      return
    }
    countLocal(verdict.code === 'OUTGROW_RATE_LIMITED' ? 'rate_limited' : 'rate_limiter_unavailable')
    client.end(`HTTP/1.1 ${STATUS_TEXT[verdict.code] as string}\r\nretry-after: ${verdict.retryAfterSeconds}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`)
  })
}

function tunnel (route: Route, cluster: UpstreamCluster, req: GatewayRequest, { info, headers }: ScannedRequest, client: Socket, head: Buffer): void {
  const upstream = route.balancer.pick(cluster.members, { now: Date.now(), clientIp: info.clientIp, hashKey: undefined, stickyId: undefined, exclude: undefined })
  if (upstream === undefined) {
    client.end('HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
    return
  }
  const target = new URL(upstream.url)
  let lines = `${req.method} ${req.url} HTTP/1.1\r\n`
  for (let i = 0; i < headers.length; i += 2) lines += `${headers[i] as string}: ${headers[i + 1] as string}\r\n`
  let counted = false
  const server: Socket = connect(Number(target.port), target.hostname, () => {
    upstream.active++
    counted = true
    server.write(lines + '\r\n')
    if (head.length > 0) server.write(head)
    server.pipe(client)
    client.pipe(server)
  })
  let closed = false
  const close = (): void => {
    if (closed) return
    closed = true
    if (counted) upstream.active--
    server.destroy()
    client.destroy()
  }
  server.on('error', () => {
    if (!client.destroyed && server.bytesRead === 0) client.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
    close()
  })
  server.on('close', close)
  client.on('error', close)
  client.on('close', close)
}
