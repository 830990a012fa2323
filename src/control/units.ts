import { createHash } from 'node:crypto'
import { redisFor, serverFor, type TopologySpec } from './spec.js'

/** What kind of process a unit is; executors map each kind to a way of running it. */
export const UNIT_KINDS = ['postgres-primary', 'postgres-replica', 'redis', 'app', 'worker', 'gateway'] as const
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

/** Every process a spec asks for, in start order: databases, Redis, workers, instances, gateways. */
export function expand (spec: TopologySpec): DesiredUnit[] {
  const units: DesiredUnit[] = []
  const cpus = (server: string): number => spec.servers[server]?.cpus ?? spec.emulation.cpusPerServer
  const add = (u: Omit<DesiredUnit, 'cpus' | 'fingerprint'>, shape: unknown): void => {
    units.push({ ...u, cpus: cpus(u.server), fingerprint: fingerprint({ shape, server: u.server, cpus: cpus(u.server) }) })
  }
  for (const [cluster, db] of Object.entries(spec.databases)) {
    const engine = { replication: db.replication, maxConnections: db.maxConnections }
    add({ name: primaryName(cluster), kind: 'postgres-primary', group: `databases/${cluster}`, ordinal: 1, server: serverFor(db.primary.server, 1), dependsOn: [] }, engine)
    for (let i = 1; i <= db.replicas.count; i++) {
      add({ name: replicaName(cluster, i), kind: 'postgres-replica', group: `databases/${cluster}/replicas`, ordinal: i, server: serverFor(db.replicas.server, i), dependsOn: [primaryName(cluster)] }, engine)
    }
  }
  for (const [name, redis] of Object.entries(spec.redis)) {
    add({ name, kind: 'redis', group: `redis/${name}`, ordinal: 1, server: serverFor(redis.server, 1), dependsOn: [] }, { persistence: redis.persistence })
  }
  const redisRoles = Object.fromEntries(Object.entries(spec.redis).map(([n, r]) => [n, [...r.roles].sort()]))
  const dependencies = (database: string): string[] => {
    const db = spec.databases[database]
    const replicas = Array.from({ length: db?.replicas.count ?? 0 }, (_, i) => replicaName(database, i + 1))
    return [primaryName(database), ...replicas, ...Object.keys(spec.redis)]
  }
  for (const [name, w] of Object.entries(spec.workers)) {
    const service = spec.services[w.service]
    if (service === undefined) continue
    const shape = { module: service.module, restartedAt: w.restartedAt, queue: w.queue, concurrency: w.concurrency, pool: w.pool, deps: dependencies(service.database), redisRoles }
    for (let i = 1; i <= w.instances.count; i++) {
      add({ name: copyName(name, i), kind: 'worker', group: `workers/${name}`, ordinal: i, server: serverFor(w.server, i), dependsOn: dependencies(service.database) }, shape)
    }
  }
  const routed = new Set(Object.values(spec.gateways).flatMap((g) => g.routes.map((r) => r.service)))
  for (const [name, s] of Object.entries(spec.services)) {
    const { instances: _instances, autoscale: _autoscale, ...rest } = s
    const shape = { ...rest, routed: routed.has(name), deps: dependencies(s.database), redisRoles, adminToken: spec.adminToken }
    for (let i = 1; i <= s.instances.count; i++) {
      add({ name: copyName(name, i), kind: 'app', group: `services/${name}`, ordinal: i, server: serverFor(s.server, i), dependsOn: dependencies(s.database) }, shape)
    }
  }
  const registry = redisFor(spec, 'registry')
  for (const [name, g] of Object.entries(spec.gateways)) {
    add({ name, kind: 'gateway', group: `gateways/${name}`, ordinal: 1, server: serverFor(g.server, 1), dependsOn: registry === undefined ? [] : [registry] }, { g, adminToken: spec.adminToken, rateLimits: redisFor(spec, 'rate-limits') })
  }
  return units
}
