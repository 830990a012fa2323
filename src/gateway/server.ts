import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { GatewayConfig } from '../config/gateway-config.js'
import { handleAdmin } from './admin.js'
import { createBalancer } from './balancing/index.js'
import { UpstreamCluster } from './cluster.js'
import { countLocal, gatewayMetricsText } from './metrics.js'
import { Proxy, sendError, type Route } from './proxy.js'
import { LocalRateLimitStore, RedisRateLimitStore, type RateLimitStore } from './rate-limit.js'
import { MemoryRegistry, RedisRegistry, type Registry } from './registry.js'
import { RetryBudget } from './retry-budget.js'
import { StaticFiles } from './static-files.js'
import { handleUpgrade } from './websocket.js'

export interface RunningGateway {
  readonly server: Server
  readonly port: number
  readonly cluster: UpstreamCluster
  readonly registry: Registry | undefined
  close(): Promise<void>
}

/** Keeps the cluster in step with the registry; configured static instances always stay. */
function syncWithRegistry (cluster: UpstreamCluster, registry: Registry, staticIds: ReadonlySet<string>): () => void {
  let chain = Promise.resolve()
  return registry.watch((instances) => {
    chain = chain.then(async () => {
      const wanted = new Map(instances.map((i) => [i.id, i]))
      for (const instance of instances) await cluster.upsert(instance)
      for (const member of cluster.members) if (!wanted.has(member.id) && !staticIds.has(member.id)) cluster.remove(member.id)
    }, () => {})
  })
}

/** A gateway: limits, static store, admin API, then the proxy. Paths under /__outgrow/ are its own. */
export async function startGateway (config: GatewayConfig, options: { registry?: Registry } = {}): Promise<RunningGateway> {
  const cluster = new UpstreamCluster(config.upstreams)
  for (const instance of config.upstreams.instances) await cluster.upsert(instance)
  const registryConfig = config.upstreams.registry
  const registry = options.registry ?? (registryConfig === undefined ? undefined
    : registryConfig.kind === 'memory' ? new MemoryRegistry() : new RedisRegistry(registryConfig.url, registryConfig.cluster))
  let unwatch = (): void => {}
  if (registry !== undefined) {
    for (const instance of await registry.list()) await cluster.upsert(instance)
    unwatch = syncWithRegistry(cluster, registry, new Set(config.upstreams.instances.map((i) => i.id)))
  }
  await cluster.start()

  const rateLimits: RateLimitStore | undefined = !config.routes.some((r) => r.rateLimit !== undefined) ? undefined
    : config.rateLimitStore.kind === 'redis' ? new RedisRateLimitStore(config.rateLimitStore.url) : new LocalRateLimitStore()
  const routes: Route[] = config.routes.map((r) => ({
    config: r,
    balancer: createBalancer(r.balancer, { balanceFactor: r.balanceFactor, cookieName: r.stickyCookie }),
    budget: new RetryBudget(r.retries.budgetPercent, r.retries.minRetryConcurrency),
    retryOn: new Set(r.retries.onStatus),
    sticky: r.balancer === 'sticky',
  }))
  const trusted = new Set(config.trustForwardedFrom)
  const proxy = new Proxy({ cluster, routes, trusted, maxBodyBytes: config.limits.maxBodyBytes, rateLimits, requestIdPrefix: `${randomBytes(4).toString('hex')}-` })
  const statics = config.static === undefined ? undefined : new StaticFiles(config.static.dir, config.static.maxAgeSeconds)

  const server = createServer({
    maxHeaderSize: config.limits.maxHeaderBytes,
    headersTimeout: config.limits.headersTimeoutMs,
    requestTimeout: config.limits.requestTimeoutMs,
    keepAliveTimeout: config.limits.keepAliveTimeoutMs,
    // Checks the time limits every second (Node's default is 30 s, too coarse against slowloris).
    connectionsCheckingInterval: 1000,
  }, (req, res) => {
    const url = req.url ?? '/'
    if (url.startsWith('/__outgrow/')) {
      const path = url.split('?')[0] as string
      if (path === '/__outgrow/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{"status":"ok"}')
      } else if (path === '/__outgrow/readyz') {
        // Ready when at least one instance can take a request.
        const now = Date.now()
        const available = cluster.members.filter((u) => u.available(now)).length
        res.writeHead(available > 0 ? 200 : 503, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ status: available > 0 ? 'ready' : 'no instance available', available }))
      } else if (path === '/__outgrow/metrics') {
        void gatewayMetricsText(cluster, routes.map((r) => r.budget)).then((text) => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
          res.end(text)
        })
      } else {
        handleAdmin(req, res, path, cluster, registry, config.adminToken).catch(() => { sendError(res, 'OUTGROW_INTERNAL') })
      }
      return
    }
    if (statics === undefined) {
      proxy.handle(req, res)
      return
    }
    statics.serve(req, res).then((served) => {
      if (served) countLocal('static')
      else proxy.handle(req, res)
    }, () => { proxy.handle(req, res) })
  })
  // Upgraded connections leave the HTTP server's bookkeeping; they are tracked to be closed on stop.
  const tunnels = new Set<import('node:stream').Duplex>()
  server.on('upgrade', (req, socket, head) => {
    tunnels.add(socket)
    socket.once('close', () => tunnels.delete(socket))
    handleUpgrade(proxy, cluster, trusted, req, socket, head)
  })
  server.on('clientError', (err: Error & { code?: string }, socket) => {
    if (!socket.writable || (err as { bytesParsed?: number }).bytesParsed === 0 && err.code === 'ECONNRESET') {
      socket.destroy()
      return
    }
    const [status, text] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : [400, 'Bad Request']
    countLocal(`client_error_${status}`)
    socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => { resolve() })
  })
  return {
    server,
    port: (server.address() as AddressInfo).port,
    cluster,
    registry,
    close: async () => {
      unwatch()
      const closed = new Promise<void>((resolve) => { server.close(() => { resolve() }) })
      server.closeIdleConnections()
      for (const socket of tunnels) socket.destroy()
      setTimeout(() => { server.closeAllConnections() }, 5000).unref()
      await closed
      await cluster.close()
      await rateLimits?.close()
      if (options.registry === undefined) await registry?.close()
    },
  }
}
