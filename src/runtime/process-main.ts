import pino from 'pino'
import { parseProcessConfig, type AppProcessConfig, type WorkerProcessConfig } from '../config/process-config.js'
import { PgDatabase } from '../data/pg-database.js'
import { createAppServer } from './app-server.js'
import { createCache, createJobQueue, createSessionStore } from './adapters.js'
import { onShutdown, reportReady } from './lifecycle.js'
import type { Ports } from './ports.js'
import { importService } from './service.js'
import { RedisRegistry } from '../gateway/registry.js'

/** Gateways learn of a deregistration at once by pub/sub; their 1 s re-read is the fallback. */
const DEREGISTER_GRACE_MS = 1500

/** Entry of app and worker processes: reads OUTGROW_PROCESS, connects the adapters, serves. */
async function main (): Promise<void> {
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
  const sessionStore = createSessionStore(config.session)
  const ports: Ports = { db, cache, jobs, instanceId: config.instanceId, adminToken: config.adminToken, log }

  // In-process queues run their jobs here; a Redis queue's jobs run in worker processes only.
  const runsJobs = config.role === 'worker' || config.jobs.kind === 'inprocess'
  if (runsJobs) await jobs.process(service.jobs ?? {}, ports)

  const server = await createAppServer({
    service, ports, sessionStore, sessionTtlSeconds: config.session.ttlSeconds, readiness: async () => { await db.assertCanServe() }, serveRoutes: config.role === 'app',
  })
  if (config.role === 'app') await service.onStart?.(ports)
  const address = await server.app.listen({ host: config.host, port: config.port })
  const registry = config.role === 'app' && config.registry !== undefined ? new RedisRegistry(config.registry.url, config.registry.cluster) : undefined
  await registry?.register({ id: config.instanceId, url: address.replace('0.0.0.0', '127.0.0.1') })

  onShutdown(async (reason) => {
    log.info({ reason }, 'stopping')
    server.drain()
    if (registry !== undefined) {
      // Leave the gateways' rotation first, give them time to notice, then finish in-flight work.
      await registry.deregister(config.instanceId).catch(() => {})
      await new Promise((resolve) => setTimeout(resolve, DEREGISTER_GRACE_MS))
      await registry.close()
    }
    await server.app.close()
    await jobs.close()
    await Promise.allSettled([db.close(), cache.close(), sessionStore.close()])
  })
  reportReady({ role: config.role, instanceId: config.instanceId, address })
}

main().catch((err: unknown) => {
  const e = err as { code?: string, message?: string }
  console.error(`${e.code ?? 'OUTGROW_INTERNAL'}: ${e.message ?? String(err)}`)
  process.exit(1)
})
