import { createHash } from 'node:crypto'
import { connectionDemand, poolerClientLimit } from './demand.js'
import { haConfigInput, haGroup, haNodeNames, haNodeServer } from './ha-nodes.js'
import { redisFor, serverFor, type TopologySpec } from './spec.js'

/** What kind of process a unit is; executors map each kind to a way of running it. */
export const UNIT_KINDS = ['etcd', 'postgres-primary', 'postgres-replica', 'postgres-ha', 'pgbouncer', 'redis', 'redis-sentinel', 'app', 'worker', 'gateway'] as const
export type UnitKind = typeof UNIT_KINDS[number]

/** One process the spec asks for. */
export interface DesiredUnit {
  readonly name: string
  readonly kind: UnitKind
  /** The spec part it belongs to, e.g. `services/app`; scaling acts on groups. */
  readonly group: string
  /** 1-based position within its group; scale-in removes the highest first. */
  readonly ordinal: number
  readonly server: string
  readonly cpus: number
  /** Units that must be ready before this one starts. */
  readonly dependsOn: readonly string[]
  /** Changes when anything that shapes the running process changes; a change means replace. */
  readonly fingerprint: string
}

const fingerprint = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16)

export const primaryName = (cluster: string): string => `${cluster}-primary`
export const replicaName = (cluster: string, i: number): string => `${cluster}-replica-${i}`
export const copyName = (group: string, i: number): string => `${group}-${i}`
/** The PgBouncer in front of a cluster's primary, and the one in front of each replica. */
export const poolerName = (cluster: string): string => `${cluster}-pooler`
export const replicaPoolerName = (cluster: string, i: number): string => `${replicaName(cluster, i)}-pooler`
/** The consensus store's members: `etcd-1` … `etcd-<members>`. */
export const etcdMemberName = (i: number): string => `etcd-${i}`
export const ETCD_GROUP = 'ha/etcd'

/** Names of every etcd member the spec asks for (each one's `--initial-cluster` lists them all). */
export function etcdMembers (spec: TopologySpec): string[] {
  return Array.from({ length: spec.consensus?.members ?? 0 }, (_, i) => etcdMemberName(i + 1))
}

/**
 * The data nodes of a Redis server: the server itself, or with Sentinel `<name>-1` … (the first
 * starts as master, the others as its replicas; after a failover any of them may be the master).
 */
export function redisDataNodes (spec: TopologySpec, name: string): string[] {
  const redis = spec.redis[name]
  if (redis === undefined) return []
  if (!redis.sentinel.enabled) return [name]
  return Array.from({ length: redis.sentinel.replicas + 1 }, (_, i) => `${name}-${i + 1}`)
}

/** The Sentinels that watch a Redis server: `<name>-sentinel-1` …; none without Sentinel. */
export function redisSentinels (spec: TopologySpec, name: string): string[] {
  const sentinel = spec.redis[name]?.sentinel
  if (sentinel?.enabled !== true) return []
  return Array.from({ length: sentinel.sentinels }, (_, i) => `${name}-sentinel-${i + 1}`)
}

/** What clients of a Redis server connect to first: the server, or the Sentinels that know its master. */
export function redisEntryPoints (spec: TopologySpec, name: string): string[] {
  const sentinels = redisSentinels(spec, name)
  return sentinels.length > 0 ? sentinels : [name]
}

/** The PostgreSQL unit a pgbouncer unit pools: the one (and only) unit it depends on. */
export function pooledServer (unit: DesiredUnit): string {
  if (unit.kind !== 'pgbouncer' || unit.dependsOn[0] === undefined) throw new Error(`${unit.name} is not a pooler`)
  return unit.dependsOn[0]
}

/** What shapes a cluster's PgBouncers, undefined when it has none: its fingerprint and its config. */
export function poolerSettings (spec: TopologySpec, cluster: string): { poolSize: number, maxClientConnections: number } | undefined {
  const pooler = spec.databases[cluster]?.pooler
  if (pooler?.kind !== 'pgbouncer') return undefined
  return { poolSize: pooler.poolSize, maxClientConnections: poolerClientLimit(connectionDemand(spec).get(cluster) ?? 0) }
}

/**
 * The units instances of a cluster connect to: its primary and replicas, or the PgBouncer in
 * front of each when the cluster has a pgbouncer pooler.
 */
export function databaseEndpoints (spec: TopologySpec, cluster: string): { primary: string, replicas: string[] } {
  const db = spec.databases[cluster]
  const pooled = db?.pooler.kind === 'pgbouncer'
  return {
    primary: pooled ? poolerName(cluster) : primaryName(cluster),
    replicas: Array.from({ length: db?.replicas.count ?? 0 }, (_, i) => pooled ? replicaPoolerName(cluster, i + 1) : replicaName(cluster, i + 1)),
  }
}

/** Cores an emulated server is given: its own entry in `servers`, else `emulation.cpusPerServer`. */
export function serverCpus (spec: TopologySpec, server: string): number {
  return spec.servers[server]?.cpus ?? spec.emulation.cpusPerServer
}

/** Every process a spec asks for, in start order: etcd, databases, poolers, Redis, workers, instances, gateways. */
export function expand (spec: TopologySpec): DesiredUnit[] {
  const units: DesiredUnit[] = []
  const cpus = (server: string): number => serverCpus(spec, server)
  const add = (u: Omit<DesiredUnit, 'cpus' | 'fingerprint'>, shape: unknown): void => {
    units.push({ ...u, cpus: cpus(u.server), fingerprint: fingerprint({ shape, server: u.server, cpus: cpus(u.server) }) })
  }
  // Members of a fresh etcd cluster wait for each other (none is ready before a quorum runs): no
  // member depends on another, so the plan starts them all at once.
  const consensus = spec.consensus
  if (consensus !== undefined) {
    etcdMembers(spec).forEach((name, i) => {
      add({ name, kind: 'etcd', group: ETCD_GROUP, ordinal: i + 1, server: serverFor(consensus.server, i + 1), dependsOn: [] }, { members: consensus.members })
    })
  }
  for (const [cluster, db] of Object.entries(spec.databases)) {
    const engine = { replication: db.replication, maxConnections: db.maxConnections }
    if (db.ha.enabled) {
      // Every node's config names every node (its peers) and the etcd members: a count change replaces them one at a time.
      const nodes = haNodeNames(spec, cluster)
      const shape = { ...engine, ha: haConfigInput(db), nodes, etcd: etcdMembers(spec) }
      nodes.forEach((name, i) => {
        add({ name, kind: 'postgres-ha', group: haGroup(cluster), ordinal: i + 1, server: haNodeServer(db, i + 1), dependsOn: etcdMembers(spec) }, shape)
      })
      continue
    }
    add({ name: primaryName(cluster), kind: 'postgres-primary', group: `databases/${cluster}`, ordinal: 1, server: serverFor(db.primary.server, 1), dependsOn: [] }, engine)
    for (let i = 1; i <= db.replicas.count; i++) {
      add({ name: replicaName(cluster, i), kind: 'postgres-replica', group: `databases/${cluster}/replicas`, ordinal: i, server: serverFor(db.replicas.server, i), dependsOn: [primaryName(cluster)] }, engine)
    }
    const pooler = poolerSettings(spec, cluster)
    if (pooler !== undefined && db.pooler.kind === 'pgbouncer') {
      const server = db.pooler.server
      add({ name: poolerName(cluster), kind: 'pgbouncer', group: `databases/${cluster}/pooler`, ordinal: 1, server: serverFor(server ?? db.primary.server, 1), dependsOn: [primaryName(cluster)] }, pooler)
      for (let i = 1; i <= db.replicas.count; i++) {
        add({ name: replicaPoolerName(cluster, i), kind: 'pgbouncer', group: `databases/${cluster}/replica-poolers`, ordinal: i, server: serverFor(server ?? db.replicas.server, i), dependsOn: [replicaName(cluster, i)] }, pooler)
      }
    }
  }
  for (const [name, redis] of Object.entries(spec.redis)) {
    const nodes = redisDataNodes(spec, name)
    const sentinel = redis.sentinel
    // With Sentinel each data node has a server of its own; the first is the master at first start.
    const nodeServer = (i: number): string => !sentinel.enabled || redis.server.includes('{i}') ? serverFor(redis.server, i) : `${redis.server}-${i}`
    const first = nodes[0] as string
    nodes.forEach((node, i) => {
      add({ name: node, kind: 'redis', group: `redis/${name}`, ordinal: i + 1, server: nodeServer(i + 1), dependsOn: i === 0 ? [] : [first] }, { persistence: redis.persistence, sentinel: sentinel.enabled })
    })
    redisSentinels(spec, name).forEach((unit, i) => {
      const { sessionAckTimeoutMs: _ack, server: _server, ...monitor } = sentinel
      add({ name: unit, kind: 'redis-sentinel', group: `redis/${name}/sentinels`, ordinal: i + 1, server: serverFor(sentinel.server ?? `${name}-sentinel-{i}`, i + 1), dependsOn: [first] }, monitor)
    })
  }
  const redisRoles = Object.fromEntries(Object.entries(spec.redis).map(([n, r]) => [n, [...r.roles].sort()]))
  // Turning Sentinel on or off changes how every client connects (and what session writes wait for).
  const redisFailover = Object.fromEntries(Object.entries(spec.redis).map(([n, r]) => [n, r.sentinel.enabled ? r.sentinel.sessionAckTimeoutMs : false]))
  const dependencies = (database: string): string[] => {
    const { primary, replicas } = databaseEndpoints(spec, database)
    const servers = spec.databases[database]?.ha.enabled === true ? haNodeNames(spec, database) : [primary, ...replicas]
    return [...servers, ...Object.keys(spec.redis).flatMap((n) => redisEntryPoints(spec, n))]
  }
  for (const [name, w] of Object.entries(spec.workers)) {
    const service = spec.services[w.service]
    if (service === undefined) continue
    const shape = { module: service.module, restartedAt: w.restartedAt, queue: w.queue, concurrency: w.concurrency, pool: w.pool, deps: dependencies(service.database), redisRoles, redisFailover }
    for (let i = 1; i <= w.instances.count; i++) {
      add({ name: copyName(name, i), kind: 'worker', group: `workers/${name}`, ordinal: i, server: serverFor(w.server, i), dependsOn: dependencies(service.database) }, shape)
    }
  }
  const routed = new Set(Object.values(spec.gateways).flatMap((g) => g.routes.map((r) => r.service)))
  for (const [name, s] of Object.entries(spec.services)) {
    const { instances: _instances, autoscale: _autoscale, ...rest } = s
    const shape = { ...rest, routed: routed.has(name), deps: dependencies(s.database), redisRoles, redisFailover, adminToken: spec.adminToken }
    for (let i = 1; i <= s.instances.count; i++) {
      add({ name: copyName(name, i), kind: 'app', group: `services/${name}`, ordinal: i, server: serverFor(s.server, i), dependsOn: dependencies(s.database) }, shape)
    }
  }
  const registry = redisFor(spec, 'registry')
  for (const [name, g] of Object.entries(spec.gateways)) {
    add({ name, kind: 'gateway', group: `gateways/${name}`, ordinal: 1, server: serverFor(g.server, 1), dependsOn: registry === undefined ? [] : redisEntryPoints(spec, registry) }, { g, adminToken: spec.adminToken, rateLimits: redisFor(spec, 'rate-limits'), redisFailover })
  }
  return units
}
