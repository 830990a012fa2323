import type { AddressInfo } from 'node:net'
import pino from 'pino'
import { parseProcessConfig, type AppProcessConfig, type WorkerProcessConfig } from '../config/process-config.js'
import { redisTargetOf } from '../config/redis-target.js'
import { PgDatabase } from '../data/pg-database.js'
import { createAppServer } from './app-server.js'
import { installCpuProfiler } from './cpu-profiler.js'
import { createCache, createEventBus, createJobQueue, createNotices, createRateLimiter, createSessionStore, createStaticStore, createWriteBehind } from './adapters.js'
import { startChangeFeed } from './change-feed-consumer.js'
import { outboxJobHandlers, startOutboxRelay } from './outbox-relay-runner.js'
import { onShutdown, reportReady } from './lifecycle.js'
import type { Ports } from './ports.js'
import { listeningAddress } from './published-address.js'
import { leaveRotation } from './scale-in.js'
import { importService, subscribeService } from './service.js'
import { RedisRegistry } from '../gateway/redis-registry.js'

/** After this long a stopping process is killed (lifecycle.ts). */
const SHUTDOWN_GRACE_MS = 10_000
/** Kept from the shutdown grace for closing the server, the job queue and the pools. */
const CLOSE_RESERVE_MS = 2_000

/** Entry of app and worker processes: reads OUTGROW_PROCESS, connects the adapters, serves. */
async function main (): Promise<void> {
  // Before anything else, so a process stuck starting can be profiled too.
  installCpuProfiler()
  const config = parseProcessConfig(JSON.parse(process.env.OUTGROW_PROCESS ?? 'null'))
  if (config.role === 'gateway') {
    const { runGateway } = await import('../gateway/gateway-main.js')
    await runGateway(config.gateway, config.instanceId)
    return
  }
  await runApp(config)
}

async function runApp (config: AppProcessConfig | WorkerProcessConfig): Promise<void> {
  const log = pino({ level: process.env.OUTGROW_LOG_LEVEL ?? 'warn', base: { instance: config.instanceId } })
  const service = await importService(config.service)
  const db = new PgDatabase(config.db)
  const cache = createCache(config.cache)
  const jobs = createJobQueue(config.jobs)
  jobs.configure({ jobOptions: service.jobOptions, repeat: service.repeat })
  const sessionStore = createSessionStore(config.session)
  const rateLimiter = createRateLimiter(config.session)
  const notices = createNotices(config.session)
  const writeBehind = createWriteBehind(config.writeBehind, db, service.writeBehind ?? {})
  const events = createEventBus(config.events, log)
  const staticStore = createStaticStore(config.staticStore)
  const ports: Ports = { db, cache, jobs, notices, writeBehind, events, rateLimiter, instanceId: config.instanceId, adminToken: config.adminToken, log, ...(staticStore === undefined ? {} : { staticStore }) }

  // In-process queues run their jobs here; a Redis queue's jobs run in worker processes only.
  const runsJobs = config.role === 'worker' || config.jobs.kind === 'inprocess'
  if (runsJobs) await jobs.process(outboxJobHandlers(config.jobs, service.jobs ?? {}, db, log), ports)
  // Deferred writes are applied where jobs run (a Redis queue's consumers: worker processes).
  if (runsJobs) await writeBehind.process()
  // Every instance and worker joins the service's consumer groups; a group shares its events among them.
  await subscribeService(service, ports, events)

  const server = await createAppServer({
    service, ports, sessionStore, sessionTtlSeconds: config.session.ttlSeconds,
    sessionCookieSecure: config.session.cookieSecure ?? 'auto', listenHost: config.host, trustProxy: config.trustProxy,
    readiness: async () => { await db.assertCanServe() }, serveRoutes: config.role === 'app',
  })
  if (config.role === 'app') await service.onStart?.(ports)
  // Every instance and worker runs an outbox relay; its lease lets one deliver (docs/outbox.md).
  const outboxRelay = startOutboxRelay(config, { db, jobs, events, log })
  // In the background: it waits for the primary and for its turn at the slot by itself.
  const changeFeed = startChangeFeed(config, service, cache, log)
  await server.app.listen({ host: config.host, port: config.port })
  // The socket's own address: the real port when port 0 was asked for.
  const listening = listeningAddress(server.app.server.address() as AddressInfo, config.host, config.publishHost)
  const registry = config.role === 'app' && config.registry !== undefined ? new RedisRegistry(redisTargetOf(config.registry), config.registry.cluster) : undefined
  const registration = await registry?.register({ id: config.instanceId, url: listening.url }, {
    onRemoved: () => { log.warn('removed from the registry by someone else: out of rotation until restarted; still answering what arrives') },
  })

  onShutdown(async (reason) => {
    log.info({ reason }, 'stopping')
    const deadline = Date.now() + SHUTDOWN_GRACE_MS - CLOSE_RESERVE_MS
    server.drain()
    // Streams never finish by themselves: end them now, and their browsers reconnect elsewhere.
    server.endStreams()
    if (registration !== undefined) {
      const left = await leaveRotation({ leave: async () => { await registration.leave() }, inFlight: () => server.inFlight(), deadline })
      if (left > 0) log.warn({ inFlight: left }, 'closing with requests still in flight')
    }
    await registry?.close()
    await server.app.close()
    await outboxRelay.close()
    await jobs.close()
    await changeFeed?.close()
    await writeBehind.close()
    await events.close()
    await Promise.allSettled([db.close(), cache.close(), sessionStore.close(), rateLimiter.close(), notices.close(), staticStore?.close()])
  }, { graceMs: SHUTDOWN_GRACE_MS })
  reportReady({ role: config.role, instanceId: config.instanceId, ...listening })
}

main().catch((err: unknown) => {
  const e = err as { code?: string, message?: string }
  console.error(`${e.code ?? 'OUTGROW_INTERNAL'}: ${e.message ?? String(err)}`)
  process.exit(1)
})
