import { join } from 'node:path'
import type { GatewayConfigInput } from '../../config/gateway-config.js'
import type { ProcessConfigInput } from '../../config/process-config.js'
import { redisFor, type RedisRole, type TopologySpec } from '../spec.js'
import { haNodeNames } from '../ha-nodes.js'
import { databaseEndpoints, etcdMembers, primaryName, redisDataNodes, redisSentinels } from '../units.js'

/** Where each engine serves, by unit name (postgres://…, redis://…). */
export type Addresses = ReadonlyMap<string, string>

function need (addresses: Addresses, name: string): string {
  const address = addresses.get(name)
  if (address === undefined) throw new Error(`${name} has no address yet`)
  return address
}

/** How a process reaches a Redis server: its URL, or its Sentinels and master group name. */
export type RedisTargetInput = { url: string } | { sentinels: Array<{ host: string, port: number }>, name: string }

/** The target of the Redis server that serves role, if any. */
export function redisTarget (spec: TopologySpec, role: RedisRole, addresses: Addresses): RedisTargetInput | undefined {
  const server = redisFor(spec, role)
  if (server === undefined) return undefined
  const sentinels = redisSentinels(spec, server)
  if (sentinels.length === 0) return { url: need(addresses, server) }
  return {
    sentinels: sentinels.map((name) => {
      const { hostname, port } = new URL(need(addresses, name))
      return { host: hostname, port: Number(port) }
    }),
    name: server,
  }
}

/**
 * Session writes wait for a replica when the sessions' Redis has Sentinel (and so replicas): a
 * session acknowledged before a master kill is on the replica that gets promoted.
 */
function replicaAcks (spec: TopologySpec): { replicas: number, timeoutMs: number } | undefined {
  const server = redisFor(spec, 'sessions')
  const sentinel = server === undefined ? undefined : spec.redis[server]?.sentinel
  if (server === undefined || sentinel?.enabled !== true) return undefined
  return { replicas: Math.min(1, redisDataNodes(spec, server).length - 1), timeoutMs: sentinel.sessionAckTimeoutMs }
}

/**
 * The process config of an app instance or worker: every adapter named explicitly, chosen by the
 * roles of the spec's Redis servers (cache, sessions, queue, registry) — configuration, not code,
 * picks the adapters.
 */
export function appProcessConfig (spec: TopologySpec, service: string, instanceId: string, addresses: Addresses, worker?: string, staticDir?: string): ProcessConfigInput {
  const s = spec.services[service]
  if (s === undefined) throw new Error(`no service ${service}`)
  if (spec.databases[s.database] === undefined) throw new Error(`no database ${s.database}`)
  const w = worker === undefined ? undefined : spec.workers[worker]
  const pool = w?.pool ?? s.pool
  const cache = redisTarget(spec, 'cache', addresses)
  const sessions = redisTarget(spec, 'sessions', addresses)
  const queue = redisTarget(spec, 'queue', addresses)
  const registry = redisTarget(spec, 'registry', addresses)
  const acks = replicaAcks(spec)
  const routed = Object.values(spec.gateways).some((g) => g.routes.some((r) => r.service === service))
  const listen = w === undefined && s.listen !== undefined ? s.listen : { host: '127.0.0.1', port: 0 }
  return {
    role: w === undefined ? 'app' : 'worker',
    instanceId,
    host: listen.host,
    port: listen.port,
    ...(s.publishHost === undefined ? {} : { publishHost: s.publishHost }),
    service: s.module,
    adminToken: spec.adminToken,
    db: {
      ...databaseServers(spec, s.database, addresses),
      poolSize: pool.size,
      connectTimeoutMs: pool.connectTimeoutMs,
      statementTimeoutMs: pool.statementTimeoutMs,
      poolIdleTimeoutMs: pool.idleTimeoutMs,
    },
    cache: cache === undefined ? { kind: s.localCache } : { kind: 'redis', ...cache },
    session: sessions === undefined ? { kind: 'memory' } : { kind: 'redis', ...sessions, ...(acks === undefined ? {} : { replicaAcks: acks }) },
    jobs: queue === undefined ? { kind: 'inprocess' } : { kind: 'bullmq', ...queue, queue: w?.queue ?? 'outgrow-jobs', ...(w === undefined ? {} : { concurrency: w.concurrency }) },
    // Deferred writes queue in the queue's Redis (persistent, consumed by the workers), else apply at once.
    writeBehind: queue === undefined ? { kind: 'direct' } : { kind: 'redis', ...queue, ...(acks === undefined ? {} : { replicaAcks: acks }) },
    // Events live where the jobs do: Redis Streams on the queue's (persistent) Redis, else in the process.
    events: queue === undefined ? { kind: 'memory' } : { kind: 'redis', ...queue },
    ...(w === undefined && routed && registry !== undefined ? { registry: { ...registry, cluster: service } } : {}),
    ...changeFeedConfig(spec, service, addresses, worker),
    // Pre-rendering writes where the gateways serve from (the same directory on this machine).
    ...(s.prerender?.enabled === true && staticDir !== undefined ? { staticStore: { kind: 'directory' as const, dir: staticDir } } : {}),
    // Gateways of a local stack run on this machine and reach instances over loopback: only they
    // may tell the app the client's address and scheme.
    ...(w === undefined && routed ? { trustProxy: ['loopback'] } : {}),
  }
}

/**
 * The change feed runs in the service's workers when it has a worker group, else in its instances
 * (level 3: the app process). It streams from the primary itself, never through a pooler.
 */
function changeFeedConfig (spec: TopologySpec, service: string, addresses: Addresses, worker: string | undefined): { changeFeed?: { slot: string, publication: string, url?: string } } {
  const s = spec.services[service]
  if (s?.changeFeed?.enabled !== true) return {}
  const workers = Object.values(spec.workers).some((w) => w.service === service)
  if (workers !== (worker !== undefined)) return {}
  const slot = s.changeFeed.slot ?? `outgrow_cache_${service.replace(/-/g, '_')}`.slice(0, 63)
  const db = spec.databases[s.database]
  const pooled = db?.pooler.kind === 'pgbouncer' && haNodeNames(spec, s.database).length === 0
  return { changeFeed: { slot, publication: slot, ...(pooled ? { url: need(addresses, primaryName(s.database)) } : {}) } }
}

/**
 * Where instances find a cluster: an HA cluster's nodes by member name, with the leader followed in
 * etcd (writes go to whoever holds the leader key, reads to the other nodes); otherwise the fixed
 * primary and replicas — or the PgBouncer in front of each when the cluster has a pooler.
 */
export function databaseServers (spec: TopologySpec, cluster: string, addresses: Addresses): { primary: string, replicas: string[] } | { members: Record<string, string>, leader: { kind: 'dcs', etcd: { hosts: string[] }, cluster: string }, replicas: string[] } {
  const nodes = haNodeNames(spec, cluster)
  if (nodes.length > 0) {
    return {
      members: Object.fromEntries(nodes.map((name) => [name, need(addresses, name)])),
      leader: { kind: 'dcs', etcd: { hosts: etcdMembers(spec).map((name) => need(addresses, name)) }, cluster },
      replicas: [],
    }
  }
  const endpoints = databaseEndpoints(spec, cluster)
  return { primary: need(addresses, endpoints.primary), replicas: endpoints.replicas.map((name) => need(addresses, name)) }
}

/** The config of a gateway process: its routes, and the registry it follows for instances. */
export function gatewayProcessConfig (spec: TopologySpec, gateway: string, addresses: Addresses, staticDir: string): ProcessConfigInput {
  const g = spec.gateways[gateway]
  if (g === undefined) throw new Error(`no gateway ${gateway}`)
  const registry = redisTarget(spec, 'registry', addresses)
  if (registry === undefined) throw new Error(`gateway ${gateway} has no registry`)
  const rateLimits = redisTarget(spec, 'rate-limits', addresses)
  const service = (g.routes[0] as { service: string }).service
  const config: GatewayConfigInput = {
    host: g.host,
    port: g.port,
    processes: g.processes,
    adminToken: spec.adminToken,
    // The admin API on a loopback port of its own, never on the public one; the gateway logs it.
    admin: { host: '127.0.0.1', port: 0 },
    static: { dir: staticDir, maxAgeSeconds: 60 },
    upstreams: { registry: { kind: 'redis', ...registry, cluster: service }, healthCheck: g.healthCheck },
    ...(rateLimits === undefined ? {} : { rateLimitStore: { kind: 'redis' as const, ...rateLimits } }),
    routes: g.routes.map(({ service: _service, ...route }) => route),
  }
  return { role: 'gateway', instanceId: gateway, gateway: config }
}

/**
 * How long a new instance of a routed service needs before gateways send it traffic: their active
 * health checks admit it after `rise` passing checks. An instance counts as ready only then (as
 * Kubernetes' minReadySeconds), so a rolling replacement never moves on before the replaced
 * instance takes traffic again.
 */
export function admissionDelayMs (spec: TopologySpec, service: string): number {
  const checks = Object.values(spec.gateways).filter((g) => g.routes.some((r) => r.service === service)).map((g) => g.healthCheck.intervalMs * g.healthCheck.rise)
  return checks.length === 0 ? 0 : Math.max(...checks) + 250
}

/** The static store's directory: the spec's, else `static` in the stack's data dir. */
export function staticStoreDir (spec: TopologySpec, dataDir: string): string {
  return spec.staticStore?.dir ?? join(dataDir, 'static')
}
