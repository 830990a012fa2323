import { isAbsolute } from 'node:path'
import { z } from 'zod'
import { BALANCER_NAMES, healthCheckSchema } from '../config/stack-config.js'
import { routeSchema } from '../config/gateway-config.js'

/**
 * The topology spec: one declarative description of a running stack, from a single server to a
 * gateway over instances, replicas and workers. Levels are named presets of it
 * (`presets.ts`); `plan.ts` turns the difference between this and what runs into actions.
 *
 * It is data only: nothing here knows about local processes, so the same spec can later be
 * rendered for another executor. Placement names emulated servers; `{i}` in a server name is the
 * instance's ordinal, so `app-{i}` puts every instance on a server of its own.
 */

const name = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'expected a lower-case name (letters, digits, -)')
const serverName = z.string().regex(/^[a-z][a-z0-9-]{0,40}(\{i\})?[a-z0-9-]{0,20}$/, 'expected a server name, optionally with {i}')

/** How many copies run: a fixed count, or a range the autoscaler moves within. */
export const instancesSchema = z.object({
  count: z.number().int().min(0).max(256),
  min: z.number().int().min(0).max(256).optional(),
  max: z.number().int().min(1).max(256).optional(),
}).strict()

export const poolSchema = z.object({
  /** PostgreSQL connections per process. */
  size: z.number().int().min(1).max(200).default(10),
  connectTimeoutMs: z.number().int().min(100).max(60_000).default(2000),
  statementTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  /**
   * An idle connection is closed after this long. Opening one costs the database server a process and
   * its catalog caches (tens of ms of CPU on a server of a quarter core, which then stalls for several
   * CFS periods), so a pool that let go of connections a few seconds after a burst paid that again
   * at the next one.
   */
  idleTimeoutMs: z.number().int().min(1000).max(86_400_000).default(300_000),
}).strict()

/**
 * The autoscaling policy is kept loose here and checked by the autoscaler's own schema, so the
 * spec does not import the algorithm.
 */
export const autoscaleSchema = z.record(z.unknown())

export const serviceSchema = z.object({
  /** Module whose default export is a service made by defineService (absolute once loaded). */
  module: z.string().min(1),
  /** The PostgreSQL cluster this service reads and writes. */
  database: name,
  instances: instancesSchema,
  autoscale: autoscaleSchema.optional(),
  pool: poolSchema.default({}),
  server: serverName,
  /** Where instances bind when no gateway routes to them (levels 1–3 serve the public port). */
  listen: z.object({ host: z.string().min(1).default('127.0.0.1'), port: z.number().int().min(0).max(65_535) }).strict().optional(),
  /** Address instances publish for gateways on other hosts; their bind host by default. */
  publishHost: z.string().min(1).optional(),
  /** Changing it replaces every instance, one at a time (a rolling restart, as `kubectl rollout restart`). */
  restartedAt: z.string().optional(),
  /**
   * The cache when no Redis serves the cache role: none (the playbook's levels 1 and 2 — the cache
   * arrives at level 3) or one in each instance's memory.
   */
  localCache: z.enum(['none', 'memory']).default('memory'),
  /**
   * Cache invalidation from the database's change stream (docs/cache.md), with the service's
   * `invalidateOn` rules. It runs in the service's workers when it has any, else in its instances;
   * one of them streams at a time. `slot` defaults to `outgrow_cache_<service>`.
   */
  changeFeed: z.object({
    enabled: z.boolean().default(true),
    slot: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case PostgreSQL name (letters, digits, _)').optional(),
  }).strict().optional(),
  /**
   * Pages rendered ahead into the stack's static store by the service's jobs, served by the
   * gateways without reaching an instance (docs/prerender.md). Needs a gateway routing to it.
   */
  prerender: z.object({ enabled: z.boolean().default(false) }).strict().optional(),
}).strict()

export const workerSchema = z.object({
  /** The service whose job handlers these workers run. */
  service: name,
  queue: z.string().min(1).default('outgrow-jobs'),
  instances: instancesSchema,
  autoscale: autoscaleSchema.optional(),
  concurrency: z.number().int().min(1).max(256).default(4),
  pool: poolSchema.default({}),
  server: serverName,
  restartedAt: z.string().optional(),
}).strict()

export const postgresClusterSchema = z.object({
  primary: z.object({ server: serverName }).strict(),
  replicas: z.object({ count: z.number().int().min(0).max(16), server: serverName }).strict(),
  /** Synchronous replication waits for a replica on every commit; async does not. */
  replication: z.enum(['async', 'sync']).default('async'),
  maxConnections: z.number().int().min(10).max(10_000).default(300),
  pooler: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('none') }).strict(),
    z.object({ kind: z.literal('pgbouncer'), server: serverName.optional(), poolSize: z.number().int().min(1).max(1000).default(40) }).strict(),
  ]).default({ kind: 'none' }),
  /**
   * Failover with election (docs/ha.md): the cluster runs as nodes `<cluster>-1 … -<1 + replicas>`,
   * each an HA agent with its PostgreSQL, electing a leader over the consensus store. The timing
   * knobs map to the agent's config (src/ha/config.ts; its invariants are checked). `primary` and
   * `replicas.server` place the nodes; `replication: 'sync'` is synchronous mode.
   */
  ha: z.object({
    enabled: z.boolean().default(false),
    /** Leader lease (ms): a dead leader is replaced within about this long. */
    ttlMs: z.number().int().optional(),
    loopWaitMs: z.number().int().optional(),
    retryTimeoutMs: z.number().int().optional(),
    safetyMarginMs: z.number().int().optional(),
    /** Synchronous mode with no healthy standby: keep commits waiting (true) or let the leader acknowledge alone (false, default). */
    strict: z.boolean().default(false),
  }).strict().default({}),
}).strict()

export const REDIS_ROLES = ['cache', 'sessions', 'queue', 'registry', 'rate-limits', 'bus'] as const
export type RedisRole = typeof REDIS_ROLES[number]

/**
 * Failover with Redis Sentinel: `replicas` data nodes follow the master, `sentinels` Sentinels
 * watch it, and when `quorum` of them find it silent for `downAfterMs` they promote a replica.
 * `true` is `{ enabled: true }` with these defaults.
 */
export const redisSentinelSchema = z.preprocess(
  (value) => typeof value === 'boolean' ? { enabled: value } : value,
  z.object({
    enabled: z.boolean().default(false),
    replicas: z.number().int().min(1).max(4).default(1),
    sentinels: z.number().int().min(1).max(7).default(3),
    quorum: z.number().int().min(1).max(7).default(2),
    downAfterMs: z.number().int().min(100).max(600_000).default(2000),
    failoverTimeoutMs: z.number().int().min(1000).max(3_600_000).default(10_000),
    /** Placement of the Sentinels; `{i}` is the Sentinel's ordinal. Default `<name>-sentinel-{i}`. */
    server: serverName.optional(),
    /** Session writes wait for a replica (WAIT) at most this long; a write not replicated in time gets a retryable 503. */
    sessionAckTimeoutMs: z.number().int().min(10).max(900).default(500),
  }).strict(),
)

export const redisServerSchema = z.object({
  roles: z.array(z.enum(REDIS_ROLES)).min(1),
  /** Placement; with Sentinel each data node gets a server of its own (`{i}`, else `<server>-<i>`). */
  server: serverName,
  /** Append-only file, so queued jobs and sessions survive a restart. */
  persistence: z.enum(['aof', 'none']).default('aof'),
  sentinel: redisSentinelSchema.default({}),
}).strict()

/**
 * The consensus store (etcd) that elects PostgreSQL primaries, as in Patroni. Its members form
 * one Raft cluster; a quorum is a majority, so the count is odd (checked by validate-spec.ts).
 */
export const consensusSchema = z.object({
  members: z.number().int().min(1).max(7).default(3),
  /** Placement template; `{i}` is the member's ordinal. */
  server: serverName.default('etcd-{i}'),
}).strict()

export const gatewayRouteSchema = routeSchema.extend({
  /** The service whose instances this route balances over. */
  service: name,
}).strict()

export const gatewaySchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(8080),
  processes: z.number().int().min(1).max(64).default(1),
  server: serverName,
  healthCheck: healthCheckSchema.default({}),
  routes: z.array(gatewayRouteSchema).min(1),
}).strict()

export const topologySpecSchema = z.object({
  /** The preset this spec started from, for reports (e.g. 4). */
  level: z.number().int().min(1).max(6).optional(),
  emulation: z.object({
    mode: z.enum(['auto', 'cgroup', 'taskset', 'none']).default('auto'),
    /** CPU share of an emulated server not listed in `servers`, in cores. */
    cpusPerServer: z.number().positive().max(64).default(0.5),
  }).strict().default({}),
  /** CPU per emulated server, where it differs from `emulation.cpusPerServer`. */
  servers: z.record(z.object({ cpus: z.number().positive().max(64) }).strict()).default({}),
  databases: z.record(name, postgresClusterSchema),
  redis: z.record(name, redisServerSchema).default({}),
  services: z.record(name, serviceSchema),
  workers: z.record(name, workerSchema).default({}),
  gateways: z.record(name, gatewaySchema).default({}),
  /** etcd members for failover with election; absent: none run. */
  consensus: consensusSchema.optional(),
  seed: z.object({
    products: z.number().int().min(0).max(10_000_000).default(10_000),
    users: z.number().int().min(0).max(1_000_000).default(1000),
  }).strict().default({}),
  adminToken: z.string().min(8).default('outgrow-admin-token'),
  /** Where the static store lives (served by every gateway, written by pre-rendering jobs); default `<data dir>/static`. */
  staticStore: z.object({ dir: z.string().min(1).refine(isAbsolute, 'expected an absolute path').optional() }).strict().optional(),
}).strict()

export type TopologySpec = z.output<typeof topologySpecSchema>
export type TopologySpecInput = z.input<typeof topologySpecSchema>
export type ServiceSpec = z.output<typeof serviceSchema>
export type WorkerSpec = z.output<typeof workerSchema>
export type PostgresClusterSpec = z.output<typeof postgresClusterSchema>
export type RedisServerSpec = z.output<typeof redisServerSchema>
export type RedisSentinelSpec = z.output<typeof redisSentinelSchema>
export type GatewaySpec = z.output<typeof gatewaySchema>
export type ConsensusSpec = z.output<typeof consensusSchema>
export type InstancesSpec = z.output<typeof instancesSchema>

export { BALANCER_NAMES }

/** The server a copy runs on: `{i}` becomes its ordinal. */
export function serverFor (template: string, ordinal: number): string {
  return template.replace('{i}', String(ordinal))
}

/** The Redis server that serves a role, if any. */
export function redisFor (spec: TopologySpec, role: RedisRole): string | undefined {
  return Object.entries(spec.redis).find(([, r]) => r.roles.includes(role))?.[0]
}
