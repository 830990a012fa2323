import { isAbsolute } from 'node:path'
import { z } from 'zod'
import { gatewayConfigSchema } from './gateway-config.js'
import { checkRedisTarget, redisTargetFields } from './redis-target.js'
import { parseOrThrow } from './validate.js'

/**
 * What one process of a stack is told at start (env OUTGROW_PROCESS, JSON). It names every
 * adapter explicitly: this is where configuration, not code, picks the adapters.
 */
/**
 * Who the database primary is, when the db config names its cluster's members: one fixed member
 * (`static`), or whoever holds the leader key of `cluster` in the HA agents' etcd (`dcs`).
 */
export const dbLeaderConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('static'), name: z.string().min(1) }).strict(),
  z.object({
    kind: z.literal('dcs'),
    etcd: z.object({ hosts: z.array(z.string().min(1)).min(1) }).strict(),
    /** The HA cluster's name in etcd (its key prefix), as the HA agents are configured with it. */
    cluster: z.string().min(1),
  }).strict(),
])

/**
 * The db port's servers and limits. Either a fixed `primary` (and `replicas`), or the cluster's
 * `members` by name with a `leader` source: writes follow the leader, and every other member serves
 * reads while it is a replica. `replicas` are read-only servers in both forms (in the members form:
 * servers outside the election, e.g. cascading replicas).
 */
export const dbConfigSchema = z.object({
  primary: z.string().min(1).optional(),
  members: z.record(z.string().min(1), z.string().min(1)).optional(),
  leader: dbLeaderConfigSchema.optional(),
  replicas: z.array(z.string().min(1)).default([]),
  poolSize: z.number().int().min(1).max(200).default(10),
  /** How often a replica's replay position is polled while a read waits to see a write there. */
  replicaPollMs: z.number().int().min(5).max(10_000).default(20),
  /** How often each server's role, health and position are polled otherwise. */
  replicaIdlePollMs: z.number().int().min(5).max(60_000).default(1000),
  /** A connection attempt (or a wait for a free pooled connection) fails after this long: a dead server answers 503 fast. */
  connectTimeoutMs: z.number().int().min(100).max(60_000).default(2000),
  /** A statement is cancelled by the server after this long (statement_timeout); the client gives up a second later. */
  statementTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  /** A pooled connection idle this long is closed (the topology's `pool.idleTimeoutMs`, which says why it is long). */
  poolIdleTimeoutMs: z.number().int().min(1000).max(86_400_000).default(300_000),
}).strict().superRefine((db, ctx) => {
  const refuse = (path: string[], message: string): void => { ctx.addIssue({ code: 'custom', path, message }) }
  if (db.primary !== undefined && db.members !== undefined) refuse(['members'], 'name either primary or members, not both')
  if (db.primary === undefined && db.members === undefined) refuse(['primary'], 'name the primary, or the members and their leader')
  if (db.primary !== undefined && db.leader !== undefined) refuse(['leader'], 'a leader source needs members, not a fixed primary')
  if (db.members === undefined) return
  const names = Object.keys(db.members)
  if (names.length === 0) refuse(['members'], 'name at least one member')
  if (db.leader === undefined) refuse(['leader'], 'members need a leader: { kind: "static", name } or { kind: "dcs", etcd, cluster }')
  else if (db.leader.kind === 'static' && !names.includes(db.leader.name)) refuse(['leader', 'name'], `not one of the members (${names.join(', ')})`)
})

export const cacheConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }).strict(),
  z.object({ kind: z.literal('memory'), maxEntries: z.number().int().min(1).default(50_000) }).strict(),
  z.object({
    kind: z.literal('redis'),
    ...redisTargetFields,
    prefix: z.string().default('cache:'),
    /** Consecutive failed Redis calls that open the cache's breaker, and how long it stays open. */
    breaker: z.object({
      failures: z.number().int().min(1).max(1000).default(5),
      openMs: z.number().int().min(10).max(600_000).default(2000),
    }).strict().optional(),
    /**
     * The in-process tier in front of Redis (docs/cache.md): an LRU of `maxEntries`, kept
     * consistent by the invalidation bus. `false`: Redis only. Unset: on, 10 000 entries.
     * (The defaults of these fields are applied where the cache is made, src/runtime/adapters.ts.)
     */
    l1: z.union([
      z.literal(false),
      z.object({
        maxEntries: z.number().int().min(1).max(10_000_000).optional(),
        /** Keep only keys among this many hottest (top-k of look-ups) in L1; unset: every key. */
        hotKeys: z.number().int().min(1).max(100_000).optional(),
      }).strict(),
    ]).optional(),
    /** How long past its TTL a value may still be served while one loader refreshes it (unset: 0, never). */
    graceSeconds: z.number().int().min(0).max(86_400).optional(),
    /** TTLs are shortened at random by up to this fraction, so entries set together expire apart (unset: 0.1). */
    jitter: z.number().min(0).max(0.5).optional(),
    /** A lease lasts `ms` at most (unset: 5000); other misses wait up to `waitMs` (unset: 500) for its value, then load uncached. */
    leases: z.object({
      ms: z.number().int().min(100).max(600_000).optional(),
      waitMs: z.number().int().min(0).max(10_000).optional(),
    }).strict().optional(),
    /** The most keys one tag's set holds in Redis (unset: 10 000); a key beyond it is not cached. */
    maxTagKeys: z.number().int().min(1).max(10_000_000).optional(),
  }).strict(),
]).superRefine((c, ctx) => { if (c.kind === 'redis') checkRedisTarget(c, ctx) })

const sessionCommon = {
  ttlSeconds: z.number().int().min(1).default(86_400),
  /** `Secure` on the session cookie; unset means `auto`: on off loopback and for HTTPS requests. */
  cookieSecure: z.union([z.boolean(), z.literal('auto')]).optional(),
}

/** Redis WAIT after each write: acknowledged only once this many replicas have it, within timeoutMs. */
const replicaAcksSchema = z.object({
  replicas: z.number().int().min(1).max(16),
  timeoutMs: z.number().int().min(10).max(900).default(500),
}).strict()

export const sessionConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('memory'), ...sessionCommon }).strict(),
  z.object({
    kind: z.literal('redis'),
    ...redisTargetFields,
    ...sessionCommon,
    /**
     * A write is acknowledged only once this many replicas have it (Redis WAIT), so a master kill
     * loses no acknowledged session; a write that misses it answers a retryable 503.
     */
    replicaAcks: replicaAcksSchema.optional(),
  }).strict(),
]).superRefine((c, ctx) => { if (c.kind === 'redis') checkRedisTarget(c, ctx) })

export const jobsConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('inprocess'), concurrency: z.number().int().min(1).max(64).default(2) }).strict(),
  z.object({
    kind: z.literal('bullmq'),
    ...redisTargetFields,
    queue: z.string().min(1).default('outgrow-jobs'),
    concurrency: z.number().int().min(1).max(256).default(4),
  }).strict(),
]).superRefine((c, ctx) => { if (c.kind === 'bullmq') checkRedisTarget(c, ctx) })

/** A PostgreSQL name the change feed puts in SQL: lower-case, unquoted. */
const pgName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case PostgreSQL name (letters, digits, _; at most 63)')

/**
 * Cache invalidation from the database's change stream (docs/cache.md): the process competes for
 * the slot, and the one PostgreSQL lets stream applies the service's `invalidateOn` rules.
 */
export const changeFeedConfigSchema = z.object({
  slot: pgName,
  publication: pgName,
  /** The primary to stream from when the db config reaches it through a pooler (replication needs the server itself). */
  url: z.string().min(1).optional(),
  /** Back-off between tries, doubling up to this: also how soon a waiting process takes a dead consumer's place. */
  retryMaxMs: z.number().int().min(100).max(60_000).default(5000),
  /** More keys and tags than this waiting at once become one full flush of the cache. */
  maxKeys: z.number().int().min(1).max(10_000_000).default(10_000),
}).strict()
/**
 * Where write-behind queues its writes: `direct` applies each at once (levels 1–2, no Redis);
 * `redis` queues them in Redis streams, applied by worker processes (docs/cache.md).
 */
export const writeBehindConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('direct') }).strict(),
  z.object({
    kind: z.literal('redis'),
    ...redisTargetFields,
    prefix: z.string().default('wb:'),
    /** Streams per write-behind stream (keys spread by hash; one consumer at a time each): the most consumers that apply in parallel. */
    partitions: z.number().int().min(1).max(256).default(4),
    /** The most writes one transaction applies. */
    batchSize: z.number().int().min(1).max(10_000).default(500),
    /** A consumer's partition is taken over this long after it stopped renewing it (killed, stuck). */
    leaseMs: z.number().int().min(300).max(600_000).default(5000),
    /** The most writes one partition holds; further appends are refused with a retryable 503. */
    maxBacklog: z.number().int().min(1).max(100_000_000).default(1_000_000),
    /** An append is acknowledged only once this many replicas have it (Redis WAIT). */
    replicaAcks: replicaAcksSchema.optional(),
  }).strict(),
]).superRefine((c, ctx) => { if (c.kind === 'redis') checkRedisTarget(c, ctx) })

/**
 * The event bus (docs/events.md): in the process (levels 1–3), Redis Streams (level 4, on the
 * queue's Redis), or a NATS server with JetStream the user runs and names by `url`.
 */
export const eventsConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('memory') }).strict(),
  z.object({
    kind: z.literal('redis'),
    ...redisTargetFields,
    /** Stream keys are `<namespace>:<topic>`. */
    namespace: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and -').default('events'),
    /** Each stream is trimmed to about this many entries (XADD MAXLEN ~): a group further behind loses its oldest events. */
    maxLen: z.number().int().min(1000).max(100_000_000).default(100_000),
  }).strict(),
  z.object({
    kind: z.literal('nats'),
    url: z.union([z.string().regex(/^(nats|tls):\/\/\S+$/, 'a nats:// or tls:// URL'), z.array(z.string().regex(/^(nats|tls):\/\/\S+$/, 'a nats:// or tls:// URL')).min(1)]),
    /** The JetStream stream's name and subject prefix. */
    namespace: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and -').default('events'),
    replicas: z.number().int().min(1).max(5).default(1),
    maxAgeMs: z.number().int().min(60_000).optional(),
  }).strict(),
]).superRefine((c, ctx) => { if (c.kind === 'redis') checkRedisTarget(c, ctx) })

/**
 * The static store the gateways serve (docs/prerender.md): a directory on this machine (or a volume
 * every writer and gateway mounts). Other kinds (an object store) fit the same port.
 */
export const staticStoreConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('directory'), dir: z.string().min(1).refine(isAbsolute, 'expected an absolute path') }).strict(),
])

const commonSchema = {
  instanceId: z.string().min(1),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535),
}

export const appProcessSchema = z.object({
  role: z.literal('app'),
  ...commonSchema,
  service: z.string().min(1),
  adminToken: z.string().min(8),
  db: dbConfigSchema,
  cache: cacheConfigSchema,
  session: sessionConfigSchema,
  jobs: jobsConfigSchema,
  /** Write-behind's queue; unset: `direct`. */
  writeBehind: writeBehindConfigSchema.optional(),
  events: eventsConfigSchema.default({ kind: 'memory' }),
  /**
   * The host others reach this instance at: in its registry URL and its ready message. Defaults to
   * the bind host, or 127.0.0.1 when that is a wildcard (0.0.0.0, ::).
   */
  publishHost: z.string().min(1).regex(/^[^\s/?#@]+$/, 'a host name or IP address, without scheme or path').optional(),
  /**
   * Peers whose X-Forwarded-For / -Proto the app believes (addresses, CIDRs, or `loopback`): the
   * gateway in front of it. Everyone else's are ignored, so a client cannot spoof its address or scheme.
   */
  trustProxy: z.array(z.string().min(1)).default([]),
  /** Where the instance registers itself for gateways to find (level 4). */
  registry: z.object({ ...redisTargetFields, cluster: z.string().min(1).default('app') }).strict().superRefine(checkRedisTarget).optional(),
  /** Invalidation from the database's change stream; unset: off. */
  changeFeed: changeFeedConfigSchema.optional(),
  /** Where the service's jobs write pre-rendered pages (ports.staticStore); unset: no static store. */
  staticStore: staticStoreConfigSchema.optional(),
}).strict()

export const workerProcessSchema = appProcessSchema.extend({ role: z.literal('worker') }).strict()

export const gatewayProcessSchema = z.object({
  role: z.literal('gateway'),
  instanceId: z.string().min(1),
  gateway: gatewayConfigSchema,
}).strict()

export const processConfigSchema = z.discriminatedUnion('role', [appProcessSchema, workerProcessSchema, gatewayProcessSchema])

export type DbConfig = z.output<typeof dbConfigSchema>
export type DbLeaderConfig = z.output<typeof dbLeaderConfigSchema>
export type CacheConfig = z.output<typeof cacheConfigSchema>
export type SessionConfig = z.output<typeof sessionConfigSchema>
export type JobsConfig = z.output<typeof jobsConfigSchema>
export type ChangeFeedConfig = z.output<typeof changeFeedConfigSchema>
export type WriteBehindConfig = z.output<typeof writeBehindConfigSchema>
export type EventsConfig = z.output<typeof eventsConfigSchema>
export type StaticStoreConfig = z.output<typeof staticStoreConfigSchema>
export type AppProcessConfig = z.output<typeof appProcessSchema>
export type WorkerProcessConfig = z.output<typeof workerProcessSchema>
export type GatewayProcessConfig = z.output<typeof gatewayProcessSchema>
export type ProcessConfig = z.output<typeof processConfigSchema>
export type ProcessConfigInput = z.input<typeof processConfigSchema>

export function parseProcessConfig (input: unknown): ProcessConfig {
  return parseOrThrow(processConfigSchema, input, 'process config')
}
