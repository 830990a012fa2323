import type { StackConfig } from '../config/stack-config.js'
import type { TopologySpecInput } from './spec.js'

export type Level = 1 | 2 | 3 | 4

/**
 * The playbook's levels as named topology specs. Each is complete on its own; a config starts
 * from one and overrides any part (`topology` in outgrow.config.*, or the CLI's shorthands).
 * Levels 1 and 2 have no cache (it arrives at level 3, as the playbook draws it). Level 4 runs PostgreSQL with failover with election (an etcd cluster, synchronous mode) unless
 * `ha: false`.
 */
export function preset (level: Level, module: string, options: { ha?: boolean } = {}): TopologySpecInput {
  const service = { module, database: 'postgres', instances: { count: 1 }, server: 'app-{i}', listen: { host: '127.0.0.1', port: 8080 } }
  switch (level) {
    case 1: return {
      level,
      databases: { postgres: { primary: { server: 'server-1' }, replicas: { count: 0, server: 'db-replica-{i}' } } },
      services: { app: { ...service, server: 'server-1', localCache: 'none' } },
    }
    case 2: return {
      level,
      databases: { postgres: { primary: { server: 'db-primary' }, replicas: { count: 0, server: 'db-replica-{i}' } } },
      services: { app: { ...service, localCache: 'none' } },
    }
    case 3: return {
      level,
      databases: { postgres: { primary: { server: 'db-primary' }, replicas: { count: 0, server: 'db-replica-{i}' } } },
      redis: { redis: { roles: ['cache', 'sessions'], server: 'redis' } },
      // A row changed by any path (psql, another service) leaves the cache: docs/cache.md.
      services: { app: { ...service, changeFeed: { enabled: true } } },
    }
    case 4: {
      const { listen: _listen, ...routed } = service
      const ha = options.ha ?? true
      return {
        level,
        databases: {
          postgres: {
            primary: { server: 'db-primary' },
            replicas: { count: 1, server: 'db-replica-{i}' },
            ...(ha ? { replication: 'sync' as const, ha: { enabled: true } } : {}),
          },
        },
        ...(ha ? { consensus: { members: 3 } } : {}),
        // With HA, Redis runs as a master and a replica under three Sentinels.
        redis: { redis: { roles: ['cache', 'sessions', 'queue', 'registry', 'rate-limits'], server: 'redis', ...(ha ? { sentinel: { enabled: true } } : {}) } },
        // The change feed runs in the worker (one consumer; the instances serve requests); product
        // pages are pre-rendered into the static store the gateway serves (docs/prerender.md).
        services: { app: { ...routed, instances: { count: 3 }, changeFeed: { enabled: true }, prerender: { enabled: true } } },
        workers: { worker: { service: 'app', instances: { count: 1 }, server: 'worker-{i}' } },
        gateways: { gateway: { port: 8080, server: 'gateway', routes: [{ pathPrefix: '/', service: 'app' }] } },
      }
    }
  }
}

type Plain = Record<string, unknown>
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Objects merge key by key; anything else (arrays included) replaces. */
export function deepMerge (base: unknown, override: unknown): unknown {
  if (!isPlain(base) || !isPlain(override)) return override === undefined ? base : override
  const out: Plain = { ...base }
  for (const [k, v] of Object.entries(override)) out[k] = deepMerge(base[k], v)
  return out
}

/**
 * A stack config as a topology spec: the level's preset, the shorthands (port, instances,
 * replicas, workers, balancer, …) applied to the preset's own parts, then `topology` merged on top.
 */
export function specFromConfig (config: StackConfig, module: string): unknown {
  const base = preset(config.level as Level, module, { ha: config.ha }) as Plain
  const shorthands: Plain = {
    emulation: config.emulation,
    seed: config.seed,
    adminToken: config.adminToken,
  }
  const services = base.services as Record<string, Plain>
  const app = services.app as Plain
  const appOverride: Plain = {}
  if (app.listen !== undefined) appOverride.listen = { host: config.host, port: config.port }
  if (config.instances !== undefined) appOverride.instances = { count: config.instances }
  shorthands.services = { app: appOverride }
  // No replica leaves nobody to wait for: synchronous replication becomes asynchronous.
  if (config.replicas !== undefined) shorthands.databases = { postgres: { replicas: { count: config.replicas }, ...(config.replicas === 0 ? { replication: 'async' } : {}) } }
  if (config.workers !== undefined && base.workers !== undefined) shorthands.workers = { worker: { instances: { count: config.workers } } }
  if (config.workers !== undefined && config.workers > 0 && base.workers === undefined) {
    // Asked for workers at a level without a queue: keep them, validation explains why not.
    shorthands.workers = { worker: { service: 'app', instances: { count: config.workers }, server: 'worker-{i}' } }
  }
  const gateways = base.gateways as Record<string, Plain> | undefined
  if (gateways?.gateway !== undefined) {
    const routes = (gateways.gateway.routes as Plain[]).map((r) => ({ ...r, balancer: config.balancer }))
    shorthands.gateways = { gateway: { host: config.host, port: config.port, processes: config.gatewayProcesses, healthCheck: config.healthCheck, routes } }
  }
  return deepMerge(deepMerge(base, shorthands), config.topology ?? {})
}
