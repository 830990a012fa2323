import { MemoryCache, NoCache } from '../cache/memory-cache.js'
import { RedisCache } from '../cache/redis-cache.js'
import { TieredCache } from '../cache/tiered-cache.js'
import type { BaseCache } from '../cache/base-cache.js'
import type { CacheConfig, EventsConfig, JobsConfig, SessionConfig, StaticStoreConfig, WriteBehindConfig } from '../config/process-config.js'
import { redisTargetOf } from '../config/redis-target.js'
import type { EventBus } from '../events/bus.js'
import { MemoryEventBus } from '../events/memory-bus.js'
import { NatsEventBus } from '../events/nats-bus.js'
import { RedisEventBus } from '../events/redis-bus.js'
import { BullMqQueue } from '../jobs/bullmq-queue.js'
import { InProcessQueue } from '../jobs/inprocess-queue.js'
import type { JobQueue } from '../jobs/queue.js'
import { MemoryRateLimiter } from '../limits/memory-limiter.js'
import { RedisRateLimiter } from '../limits/redis-limiter.js'
import { reportJobQueue } from './metrics.js'
import type { Db, Logger, RateLimiter } from './ports.js'
import { MemoryNotices } from '../notices/memory-notices.js'
import type { Notices } from '../notices/notices.js'
import { RedisNotices } from '../notices/redis-notices.js'
import { MemorySessionStore } from '../session/memory-store.js'
import { RedisSessionStore } from '../session/redis-store.js'
import type { SessionStore } from '../session/store.js'
import { DirectoryStaticStore } from '../static-store/directory-store.js'
import type { StaticStore } from '../static-store/store.js'
import { DirectWrites } from '../write-behind/direct-writes.js'
import { RedisStreamWrites } from '../write-behind/redis-stream-writes.js'
import type { Appliers, WriteBehindAdapter } from '../write-behind/write-behind.js'

/**
 * The one place that maps configuration to adapters (a resolver by kind). Application code only
 * sees the ports these implement.
 */
export function createCache (config: CacheConfig): BaseCache {
  switch (config.kind) {
    case 'none': return new NoCache()
    case 'memory': return new MemoryCache(config.maxEntries)
    case 'redis': {
      const options = {
        ...(config.breaker === undefined ? {} : { breaker: config.breaker }),
        ttl: { graceSeconds: config.graceSeconds ?? 0, jitter: config.jitter ?? 0.1 },
        leases: { ms: config.leases?.ms ?? 5000, waitMs: config.leases?.waitMs ?? 500 },
        maxTagKeys: config.maxTagKeys ?? 10_000,
      }
      // Two tiers unless turned off (`l1: false`): see docs/cache.md.
      return config.l1 === false
        ? new RedisCache(redisTargetOf(config), config.prefix, options)
        : new TieredCache(redisTargetOf(config), config.prefix, { ...options, l1MaxEntries: config.l1?.maxEntries ?? 10_000, l1HotKeys: config.l1?.hotKeys })
    }
  }
}

export function createSessionStore (config: SessionConfig): SessionStore {
  switch (config.kind) {
    case 'memory': return new MemorySessionStore(config.ttlSeconds)
    case 'redis': return new RedisSessionStore(redisTargetOf(config), config.ttlSeconds, config.replicaAcks)
  }
}

/**
 * Attempt counters live with the sessions: in the sessions' Redis when there is one (shared by
 * every instance), in the process otherwise (levels 1–2 run one process).
 */
export function createRateLimiter (config: SessionConfig): RateLimiter & { close(): Promise<void> } {
  switch (config.kind) {
    case 'memory': return new MemoryRateLimiter()
    case 'redis': return new RedisRateLimiter(redisTargetOf(config))
  }
}

/** Notices live with the sessions, like attempt counters: they are for a session's browser. */
export function createNotices (config: SessionConfig): Notices {
  switch (config.kind) {
    case 'memory': return new MemoryNotices()
    case 'redis': return new RedisNotices(redisTargetOf(config))
  }
}

export function createJobQueue (config: JobsConfig): JobQueue {
  const queue = config.kind === 'inprocess' ? new InProcessQueue(config.concurrency) : new BullMqQueue(redisTargetOf(config), config.queue, config.concurrency)
  // Depth, delayed, dead letters and the oldest job's age on this process's /metrics.
  reportJobQueue(queue.name, async () => await queue.stats())
  return queue
}

/** Write-behind: applied at once without Redis (unset, `direct`), queued in Redis streams with it. */
export function createWriteBehind (config: WriteBehindConfig | undefined, db: Db, appliers: Appliers): WriteBehindAdapter {
  if (config === undefined || config.kind === 'direct') return new DirectWrites(db, appliers)
  return new RedisStreamWrites(redisTargetOf(config), db, appliers, {
    prefix: config.prefix, partitions: config.partitions, batchSize: config.batchSize, leaseMs: config.leaseMs,
    maxBacklog: config.maxBacklog, replicaAcks: config.replicaAcks,
  })
}

export function createEventBus (config: EventsConfig, log?: Logger): EventBus {
  switch (config.kind) {
    case 'memory': return new MemoryEventBus({ log })
    case 'redis': return new RedisEventBus(redisTargetOf(config), { namespace: config.namespace, maxLen: config.maxLen, log })
    case 'nats': return new NatsEventBus(config.url, { namespace: config.namespace, replicas: config.replicas, maxAgeMs: config.maxAgeMs, log })
  }
}

/** The static store pre-rendered pages go to: a directory the gateways serve; none when unset. */
export function createStaticStore (config: StaticStoreConfig | undefined): StaticStore | undefined {
  if (config === undefined) return undefined
  switch (config.kind) {
    case 'directory': return new DirectoryStaticStore(config.dir)
  }
}
