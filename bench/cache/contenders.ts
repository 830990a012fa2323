import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis'
import { Redis } from 'ioredis'
import { TieredCache } from '../../src/cache/tiered-cache.js'
import { cacheConfigSchema } from '../../src/config/process-config.js'
import { createCache } from '../../src/runtime/adapters.js'

/** The two caches behind one small interface: what every measurement calls. */
export interface BenchCache {
  wrap<T>(key: string, ttlSeconds: number, load: () => Promise<T>): Promise<T>
  get<T>(key: string): Promise<T | undefined>
  delete(key: string): Promise<void>
  close(): Promise<void>
}

export type SystemName = 'outgrow' | 'bentocache'

export interface CacheShape {
  readonly system: SystemName
  /** The in-process tier (and, with it, the bus that keeps it consistent) on or off. */
  readonly l1: boolean
  readonly redisUrl: string
  readonly prefix: string
  /** bentocache only: its memory L1 keeps entries serialised (its default) or as the objects themselves. */
  readonly l1Serialize?: boolean
  /** Entries the in-process tier holds at most (both: 10 000 unless told). */
  readonly l1MaxEntries?: number
}

export const L1_MAX_ENTRIES = 10_000

/**
 * Outgrow's cache exactly as a process config makes it: the config schema's defaults, then
 * src/runtime/adapters.ts (TieredCache, or RedisCache with `l1: false`), waiting for the bus.
 */
async function outgrowCache (shape: CacheShape): Promise<BenchCache> {
  const config = cacheConfigSchema.parse({ kind: 'redis', url: shape.redisUrl, prefix: shape.prefix, l1: shape.l1 ? { maxEntries: shape.l1MaxEntries ?? L1_MAX_ENTRIES } : false })
  const cache = createCache(config)
  if (cache instanceof TieredCache) await cache.ready()
  return {
    wrap: async (key, ttlSeconds, load) => await cache.wrap(key, ttlSeconds, load),
    get: async (key) => await cache.get(key),
    delete: async (key) => { await cache.delete(key) },
    close: async () => { await cache.close() },
  }
}

/**
 * bentocache with its defaults, the same layers: a memory L1 (LRU) and the Redis bus when l1 is
 * on, Redis as L2 always. Its stampede protection is a lock per key inside each process.
 */
async function bentoCache (shape: CacheShape): Promise<BenchCache> {
  const url = new URL(shape.redisUrl)
  const connection = { host: url.hostname, port: Number(url.port) }
  const redis = new Redis(connection)
  const store = bentostore().useL2Layer(redisDriver({ connection: redis }))
  if (shape.l1) {
    store.useL1Layer(memoryDriver({ maxItems: shape.l1MaxEntries ?? L1_MAX_ENTRIES, serialize: shape.l1Serialize ?? true }))
    store.useBus(redisBusDriver({ connection }))
  }
  const bento = new BentoCache({ default: 'cache', prefix: shape.prefix.replace(/:$/, ''), stores: { cache: store } })
  // The bus subscribes in the background and offers no ready signal: a moment for it to do so.
  if (shape.l1) await new Promise((resolve) => setTimeout(resolve, 300))
  return {
    wrap: async <T>(key: string, ttlSeconds: number, load: () => Promise<T>) => await bento.getOrSet<T>({ key, ttl: ttlSeconds * 1000, factory: load }),
    get: async <T>(key: string) => (await bento.get<T | undefined>({ key })) ?? undefined,
    delete: async (key) => { await bento.delete({ key }) },
    close: async () => { await bento.disconnectAll() },
  }
}

export async function openCache (shape: CacheShape): Promise<BenchCache> {
  return shape.system === 'outgrow' ? await outgrowCache(shape) : await bentoCache(shape)
}
