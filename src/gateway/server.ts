import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import type { Registry as PromRegistry } from 'prom-client'
import type { GatewayConfig } from '../config/gateway-config.js'
import { redisTargetOf } from '../config/redis-target.js'
import { OutgrowError } from '../errors/index.js'
import { json } from './admin.js'
import { startAdminListener } from './admin-server.js'
import { createBalancer } from './balancing/index.js'
import { UpstreamCluster, stderrLog, type GatewayLog } from './cluster.js'
import { httpDate, type GatewayResponse } from './http/response.js'
import { probeNativeParser } from './http/native-probe.js'
import { chooseServer, createHttpServer, type GatewayHttpServer, type ServerChoice } from './http/server.js'
import { countLocal, gatewayMetricsText } from './metrics.js'
import { GatewayProxy, sendError, type Route } from './proxy.js'
import { LocalRateLimitStore, RedisRateLimitStore, type RateLimitStore } from './rate-limit.js'
import { PerTryTimeouts } from './per-try-timeout.js'
import { RateLimiter } from './rate-limiter.js'
import { RedisRegistry } from './redis-registry.js'
import { MemoryRegistry, type Registry } from './registry.js'
import { RetryBudget } from './retry-budget.js'
import { StaticFiles } from './static-files.js'
import { TrustedProxies } from './trusted-proxies.js'
import { upstreamMetricsRegistry } from './upstream-metrics.js'
import { handleUpgrade } from './websocket.js'

export interface RunningGateway {
  readonly server: GatewayHttpServer
  readonly port: number
  /** The admin API's port (on `admin.host`); undefined when the API is off. */
  readonly adminPort: number | undefined
  readonly cluster: UpstreamCluster
  readonly registry: Registry | undefined
  /** The per-upstream metric families of this gateway (the process-wide ones are in runtime/metrics.ts). */
  readonly metrics: PromRegistry
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

/**
 * Which implementations parse client requests and upstream responses. Node's internal parser serves
 * both by default; when it is missing or fails its self-test, `auto` falls back to node:http and
 * undici, and one log line says why.
 */
function chooseParsers (config: GatewayConfig, log: GatewayLog): { server: ServerChoice, client: 'native' | 'undici' } {
  const server = chooseServer(config.server)
  // The upstream side uses the same parser: the same probe answers for it.
  const probe = probeNativeParser()
  const wanted = config.upstreams.client
  if (wanted === 'native' && !probe.ok) throw new OutgrowError('OUTGROW_CONFIG_INVALID', `upstreams.client: 'native' cannot run on Node ${process.version}: ${probe.reason}; use 'auto' or 'undici'`)
  const client = wanted === 'auto' ? (probe.ok ? 'native' : 'undici') : wanted
  if (!probe.ok && (config.server === 'auto' || wanted === 'auto')) {
    log(`${probe.reason}; clients are served by ${server.kind === 'native' ? 'the native server' : 'node:http'} and instances reached with ${client}`)
  }
  return { server, client }
}

/** A gateway: limits, static store, admin API, then the proxy. Paths under /__outgrow/ are its own. */
export async function startGateway (config: GatewayConfig, options: { registry?: Registry, log?: GatewayLog } = {}): Promise<RunningGateway> {
  const { server: choice, client } = chooseParsers(config, options.log ?? stderrLog)
  const cluster = new UpstreamCluster({ ...config.upstreams, client }, options.log)
  for (const instance of config.upstreams.instances) await cluster.upsert(instance)
  const registryConfig = config.upstreams.registry
  const registry = options.registry ?? (registryConfig === undefined ? undefined
    : registryConfig.kind === 'memory' ? new MemoryRegistry() : new RedisRegistry(redisTargetOf(registryConfig), registryConfig.cluster))
  let unwatch = (): void => {}
  if (registry !== undefined) {
    for (const instance of await registry.list()) await cluster.upsert(instance)
    unwatch = syncWithRegistry(cluster, registry, new Set(config.upstreams.instances.map((i) => i.id)))
  }
  await cluster.start()

  const storeConfig = config.rateLimitStore
  const rateLimits: RateLimitStore | undefined = !config.routes.some((r) => r.rateLimit !== undefined) ? undefined
    : storeConfig.kind === 'redis' ? new RedisRateLimitStore(redisTargetOf(storeConfig)) : new LocalRateLimitStore()
  const rateLimiter = rateLimits === undefined ? undefined
    : new RateLimiter(rateLimits, config.routes, storeConfig.kind === 'redis' ? storeConfig.onError : 'open')
  const routes: Route[] = config.routes.map((r) => ({
    config: r,
    balancer: createBalancer(r.balancer, { balanceFactor: r.balanceFactor, cookieName: r.stickyCookie }),
    budget: new RetryBudget(r.retries.budgetPercent, r.retries.minRetryConcurrency),
    retryOn: new Set(r.retries.onStatus),
    sticky: r.balancer === 'sticky',
    perTry: new PerTryTimeouts(r.perTryTimeout),
  }))
  const metrics = upstreamMetricsRegistry(cluster, routes.map((r) => r.budget))
  const trusted = TrustedProxies.from(config.trustForwardedFrom)
  const proxy = new GatewayProxy({ cluster, routes, trusted, rateLimiter, requestIdPrefix: `${randomBytes(4).toString('hex')}-` })
  const statics = config.static === undefined ? undefined : new StaticFiles(config.static.dir, config.static.maxAgeSeconds)

  const tunnels = new Set<Socket>()
  const server = createHttpServer(choice.kind, config.limits, {
    request: (req, res) => {
      const url = req.url
      if (url.startsWith('/__outgrow/')) {
        serveOwn(res, url.split('?')[0] as string)
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
    },
    reject: (res, refusal) => {
      countLocal(refusal.counter)
      sendError(res, refusal.code, refusal.message)
    },
    // Upgraded connections leave the HTTP server's bookkeeping; they are tracked to be closed on stop.
    upgrade: (req, socket, head) => {
      tunnels.add(socket)
      socket.once('close', () => tunnels.delete(socket))
      handleUpgrade(proxy, cluster, trusted, req, socket, head)
    },
    clientError: (status) => { countLocal(`client_error_${status}`) },
  })

  /** Paths under /__outgrow/ are the gateway's own. */
  function serveOwn (res: GatewayResponse, path: string): void {
    if (path === '/__outgrow/healthz') {
      json(res, 200, { status: 'ok' })
    } else if (path === '/__outgrow/readyz') {
      // Ready when at least one instance can take a request.
      const now = Date.now()
      const available = cluster.members.filter((u) => u.available(now)).length
      json(res, available > 0 ? 200 : 503, { status: available > 0 ? 'ready' : 'no instance available', available })
    } else if (path === '/__outgrow/metrics') {
      gatewayMetricsText(metrics).then((text) => {
        res.writeHead(200, ['content-type', 'text/plain; version=0.0.4', 'content-length', String(Buffer.byteLength(text)), 'date', httpDate()])
        res.end(text)
      }, (err: unknown) => { sendError(res, 'OUTGROW_METRICS_UNAVAILABLE', err instanceof Error ? err.message : undefined) })
    } else {
      // The admin API included: it listens on its own address (admin-server.ts).
      sendError(res, 'OUTGROW_NOT_FOUND', `no gateway path ${path}`)
    }
  }
  const port = await server.listen(config.port, config.host)
  const admin = await startAdminListener(config, choice.kind, cluster, registry).catch(async (err: unknown) => {
    await server.close(0)
    throw err
  })
  return {
    server,
    port,
    adminPort: admin?.port,
    cluster,
    registry,
    metrics,
    close: async () => {
      unwatch()
      for (const socket of tunnels) socket.destroy()
      await Promise.all([server.close(5000), admin?.close()])
      await cluster.close()
      await rateLimits?.close()
      if (options.registry === undefined) await registry?.close()
    },
  }
}
