import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { createCache, createEventBus, createJobQueue, createNotices, createRateLimiter, createSessionStore, createWriteBehind } from '../../src/runtime/adapters.js'
import { createAppServer } from '../../src/runtime/app-server.js'
import type { EventBus } from '../../src/events/bus.js'
import type { Ports } from '../../src/runtime/ports.js'
import type { StaticStore } from '../../src/static-store/store.js'
import type { SessionStore } from '../../src/session/store.js'
import { subscribeService, type ServiceDefinition } from '../../src/runtime/service.js'
import { PgDatabase } from '../../src/data/pg-database.js'
import { ensureOutboxTables } from '../../src/outbox/outbox-table.js'
import { outboxJobHandlers, startOutboxRelay } from '../../src/runtime/outbox-relay-runner.js'
import shop from '../../examples/shop/service.js'
import { dbConfigSchema, type CacheConfig, type EventsConfig, type JobsConfig, type SessionConfig, type WriteBehindConfig } from '../../src/config/process-config.js'

export const ADMIN_TOKEN = 'test-admin-token'

export interface ShopUnderTest {
  readonly app: FastifyInstance
  readonly db: PgDatabase
  readonly ports: Ports
  /** The bus behind ports.events, for probes of what the shop publishes. */
  readonly events: EventBus
  /** The store behind request.session, for probes of what a session holds. */
  readonly sessionStore: SessionStore
  close(): Promise<void>
}

export interface ShopOptions {
  readonly primary: string
  readonly replicas?: readonly string[]
  readonly cache: CacheConfig
  readonly session: SessionConfig
  readonly jobs?: JobsConfig
  /** Unset: direct (applied at once). A Redis config is also consumed in this process. */
  readonly writeBehind?: WriteBehindConfig
  /** The event bus (in the process unless told). */
  readonly events?: EventsConfig
  readonly products?: number
  readonly users?: number
  /** Another service than the shop (e.g. the shop with other limits); schema and seed are still the shop's. */
  readonly service?: ServiceDefinition
  /** The static store pre-rendered pages go to (ports.staticStore); unset: none. */
  readonly staticStore?: StaticStore
}

/** The shop in this process on real PostgreSQL, with the given adapters (in-process jobs unless told). */
export async function startShop (options: ShopOptions): Promise<ShopUnderTest> {
  // Schema and seed on the primary alone, as the supervisor does before replicas exist.
  const setup = new PgDatabase({ primary: options.primary, replicas: [], poolSize: 2, replicaPollMs: 20 })
  await ensureOutboxTables(setup)
  await shop.migrate?.(setup)
  await shop.seed?.(setup, { products: options.products ?? 200, users: options.users ?? 20 })
  await setup.close()
  const db = new PgDatabase({ primary: options.primary, replicas: [...options.replicas ?? []], poolSize: 10, replicaPollMs: 20 })
  const cache = createCache(options.cache)
  const jobsConfig: JobsConfig = options.jobs ?? { kind: 'inprocess', concurrency: 2 }
  const jobs = createJobQueue(jobsConfig)
  const sessionStore = createSessionStore(options.session)
  const rateLimiter = createRateLimiter(options.session)
  const notices = createNotices(options.session)
  const service = options.service ?? shop
  const writeBehind = createWriteBehind(options.writeBehind, db, service.writeBehind ?? {})
  const events = createEventBus(options.events ?? { kind: 'memory' })
  const ports: Ports = { db, cache, jobs, notices, writeBehind, events, rateLimiter, instanceId: 'test-1', adminToken: ADMIN_TOKEN, log: pino({ level: 'silent' }), ...(options.staticStore === undefined ? {} : { staticStore: options.staticStore }) }
  await jobs.process(outboxJobHandlers(jobsConfig, shop.jobs ?? {}, db, ports.log), ports)
  await writeBehind.process()
  await subscribeService(service, ports, events)
  const server = await createAppServer({ service, ports, sessionStore, sessionTtlSeconds: 3600, readiness: async () => { await db.assertCanServe() } })
  await server.app.ready()
  // As every app process does: the outbox's entries (receipt jobs, order.placed) are handed on by it.
  const relay = startOutboxRelay({ db: dbConfigSchema.parse({ primary: options.primary, replicas: [...options.replicas ?? []] }), jobs: jobsConfig, instanceId: 'test-1' }, { db, jobs, events, log: ports.log })
  return {
    app: server.app,
    db,
    ports,
    events,
    sessionStore,
    close: async () => {
      await server.app.close()
      await relay.close()
      await jobs.close()
      await writeBehind.close()
      await events.close()
      await Promise.allSettled([cache.close(), sessionStore.close(), rateLimiter.close(), notices.close()])
      await db.close()
    },
  }
}

/** A browser: keeps the session cookie between requests. */
export class Browser {
  cookie = ''
  readonly #app: FastifyInstance
  constructor (app: FastifyInstance) { this.#app = app }

  async request (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, json: Record<string, unknown>, headers: Record<string, unknown> }> {
    const response = await this.#app.inject({
      method, url,
      headers: { ...(this.cookie === '' ? {} : { cookie: this.cookie }), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    })
    const setCookie = response.headers['set-cookie']
    for (const c of Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie]) {
      const pair = c.split(';')[0] ?? ''
      if (pair.startsWith('outgrow.sid=')) this.cookie = pair.endsWith('=') ? '' : pair
    }
    let json: Record<string, unknown> = {}
    try { json = response.json() } catch {}
    return { status: response.statusCode, json, headers: response.headers }
  }
}
