import { Redis } from 'ioredis'
import type { CacheSetOptions } from '../runtime/ports.js'
import { BaseCache } from './base-cache.js'

// Deletes every key a tag lists, and the tag, in one atomic step.
const INVALIDATE_TAG = `
local keys = redis.call('SMEMBERS', KEYS[1])
for i = 1, #keys do redis.call('DEL', keys[i]) end
redis.call('DEL', KEYS[1])
return #keys`

/** Shared cache in Redis: values as JSON with TTLs; tags as Redis sets of keys. */
export class RedisCache extends BaseCache {
  readonly #redis: Redis
  readonly #prefix: string

  constructor (url: string, prefix: string) {
    super()
    this.#redis = new Redis(url, { maxRetriesPerRequest: 2, enableAutoPipelining: true, lazyConnect: false })
    this.#redis.on('error', () => { /* reconnects by itself; commands fail meanwhile */ })
    this.#prefix = prefix
  }

  async get<T>(key: string): Promise<T | undefined> {
    const raw = await this.#redis.get(this.#prefix + key)
    return raw === null ? undefined : JSON.parse(raw) as T
  }

  async set<T>(key: string, value: T, ttlSeconds: number, options: CacheSetOptions = {}): Promise<void> {
    const fullKey = this.#prefix + key
    const multi = this.#redis.multi().set(fullKey, JSON.stringify(value), 'EX', ttlSeconds)
    for (const tag of options.tags ?? []) {
      const tagKey = `${this.#prefix}tag:${tag}`
      // The tag outlives its entries so an invalidation always finds them.
      multi.sadd(tagKey, fullKey).expire(tagKey, ttlSeconds * 2, 'GT').expire(tagKey, ttlSeconds * 2, 'NX')
    }
    await multi.exec()
  }

  async delete (...keys: string[]): Promise<void> {
    if (keys.length === 0) return
    await this.#redis.del(...keys.map((k) => this.#prefix + k))
  }

  async invalidateTags (...tags: string[]): Promise<void> {
    await Promise.all(tags.map(async (tag) => await this.#redis.eval(INVALIDATE_TAG, 1, `${this.#prefix}tag:${tag}`)))
  }

  async close (): Promise<void> {
    await this.#redis.quit().catch(() => { this.#redis.disconnect() })
  }
}
