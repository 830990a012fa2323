import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import type { SecureCookieSetting } from '../session/cookie-security.js'
import { sessionPlugin } from '../session/plugin.js'
import type { SessionStore } from '../session/store.js'
import { collectDegradedParts, collectDependencyStates } from './dependencies.js'
import { installErrorHandling } from './http-errors.js'
import type { OpenStream } from './event-stream.js'
import { httpInFlight, httpRequests, registry } from './metrics.js'
import { requestedMetricNames, selectedMetricsText } from './metrics-selection.js'
import type { Ports } from './ports.js'
import type { ServiceDefinition } from './service.js'

export interface AppServerOptions {
  readonly service: ServiceDefinition
  readonly ports: Ports
  readonly sessionStore: SessionStore
  readonly sessionTtlSeconds: number
  /** `Secure` on the session cookie; `auto` (default): on off loopback or over HTTPS. */
  readonly sessionCookieSecure?: SecureCookieSetting
  /** The host the server will listen on (default 127.0.0.1); decides `sessionCookieSecure: 'auto'`. */
  readonly listenHost?: string
  /**
   * Peers (addresses, CIDRs or `loopback`) whose X-Forwarded-For / -Proto are believed — the
   * gateway. request.ip and request.protocol then name the client and its scheme. Default: none.
   */
  readonly trustProxy?: readonly string[]
  /**
   * Readiness beyond "not shutting down": throws when the instance can serve nothing, e.g. when
   * neither the database primary nor any replica answers (PgDatabase.assertCanServe).
   */
  readonly readiness?: () => Promise<void>
  readonly bodyLimit?: number
  /** Worker processes serve only health and metrics, not the service's routes. */
  readonly serveRoutes?: boolean
}

export interface AppServer {
  readonly app: FastifyInstance
  /** Marks the instance not ready (readyz → 503) so balancers stop sending before it closes. */
  drain(): void
  /** Requests received and not yet answered or aborted: scale-in waits for 0 before closing. */
  inFlight(): number
  /** Ends every open event stream; their browsers reconnect elsewhere. */
  endStreams(): void
}

const UNCOUNTED_ROUTES = new Set(['/healthz', '/readyz', '/metrics'])

/** Builds the HTTP server of one app instance: health, metrics, sessions, errors, then the service's routes. */
export async function createAppServer (options: AppServerOptions): Promise<AppServer> {
  const { ports, service } = options
  const app = Fastify({
    logger: { level: process.env.OUTGROW_LOG_LEVEL ?? 'warn' },
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ...(options.trustProxy === undefined || options.trustProxy.length === 0 ? {} : { trustProxy: [...options.trustProxy] }),
  })
  let draining = false
  let inFlight = 0

  // A request leaves the in-flight count once, whether it is answered or the client goes away first.
  const leaveInFlight = (request: FastifyRequest): void => {
    if (!request.countedInFlight) return
    request.countedInFlight = false
    inFlight--
    httpInFlight.dec()
  }
  const openStreams = new Set<OpenStream>()
  app.decorate('openStreams', openStreams)
  app.decorateRequest('leaveInFlight', function (this: FastifyRequest) { leaveInFlight(this) })
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-outgrow-instance', ports.instanceId)
    request.startedAt = process.hrtime.bigint()
    // Probes and scrapes are not load; counting them would show every scrape one request busy.
    request.countedInFlight = !UNCOUNTED_ROUTES.has(request.routeOptions.url ?? '')
    if (request.countedInFlight) { inFlight++; httpInFlight.inc() }
  })
  app.addHook('onRequestAbort', async (request) => { leaveInFlight(request) })
  app.addHook('onResponse', async (request, reply) => {
    leaveInFlight(request)
    const seconds = Number(process.hrtime.bigint() - request.startedAt) / 1e9
    httpRequests.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: `${Math.floor(reply.statusCode / 100)}xx` }, seconds)
  })
  installErrorHandling(app)

  app.get('/healthz', async () => ({ status: 'ok', instance: ports.instanceId }))
  // Ready while the instance can serve something; the body says which parts answer, so a
  // dependency that is down shows here without taking the instance out of rotation.
  app.get('/readyz', async (_request, reply) => {
    // Both at once: they share each dependency's probe, so a primary that hangs (frozen, not
    // refusing) costs one probe wait, within the balancers' health-check time-out, not two.
    const [dependencies, readiness] = await Promise.all([
      collectDependencyStates([ports.db, ports.cache, ports.jobs, options.sessionStore]),
      Promise.resolve(options.readiness?.()).then(() => undefined, (err: unknown) => err as Error),
    ])
    // Parts that fail open (the cache reading from the database) keep the instance ready.
    const degraded = collectDegradedParts([ports.cache])
    const details = { instance: ports.instanceId, dependencies, ...(degraded.length === 0 ? {} : { degraded }) }
    if (draining) return await reply.code(503).send({ status: 'draining', ...details })
    if (readiness !== undefined) return await reply.code(503).send({ status: 'unavailable', reason: readiness.message, ...details })
    return { status: 'ready', ...details }
  })
  app.get('/metrics', async (request, reply) => {
    const names = requestedMetricNames(request.query)
    void reply.header('content-type', registry.contentType)
    return names === undefined ? await registry.metrics() : await selectedMetricsText(registry, names)
  })

  await app.register(sessionPlugin, {
    store: options.sessionStore,
    ttlSeconds: options.sessionTtlSeconds,
    secure: options.sessionCookieSecure ?? 'auto',
    listenHost: options.listenHost ?? '127.0.0.1',
  })
  if (options.serveRoutes !== false) await app.register(async (scope) => { await service.routes(scope, ports) })
  return {
    app,
    drain: () => { draining = true },
    inFlight: () => inFlight,
    endStreams: () => { for (const stream of [...openStreams]) stream.end() },
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    startedAt: bigint
    countedInFlight: boolean
    /** Takes the request out of the in-flight count: it became a long-lived stream. */
    leaveInFlight(): void
  }
  interface FastifyInstance {
    /** Event streams open on this server (event-stream.ts); ended at shutdown. */
    openStreams: Set<OpenStream>
  }
}
