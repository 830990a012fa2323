import type { Redis } from 'ioredis'
import { isRedisConnectionError } from '../runtime/connection-errors.js'
import type { DependencyHealth, DependencyState, ReportsDependencies } from '../runtime/dependencies.js'
import { adapterLog } from '../runtime/log.js'
import { cacheDegraded, cacheErrors } from '../runtime/metrics.js'
import type { CacheSetOptions } from '../runtime/ports.js'
import { createFailFastRedis, type RedisTarget } from '../runtime/redis-client.js'
import { BaseCache } from './base-cache.js'
import { CacheBreaker } from './breaker.js'
import { UnconfirmedInvalidations } from './unconfirmed-invalidations.js'

// Deletes every key a tag lists, and the tag, in one atomic step.
const INVALIDATE_TAG = `
local keys = redis.call('SMEMBERS', KEYS[1])
for i = 1, #keys do redis.call('DEL', keys[i]) end
redis.call('DEL', KEYS[1])
return #keys`

/**
 * Shared cache in Redis: values as JSON with TTLs; tags as Redis sets of keys.
 *
 * A cache is an optimisation, so a Redis that fails never fails the request (it fails open): a
 * get is a miss (the caller loads from the database), a set is skipped, and a delete or tag
 * invalidation that fails is logged, counted (outgrow_cache_errors_total) and retried until Redis
 * confirms it. A breaker (breaker.ts) stops asking a Redis that keeps failing; while it is not
 * closed the cache is `degraded` (in /readyz and outgrow_cache_degraded).
 */
export class RedisCache extends BaseCache implements ReportsDependencies {
  readonly #redis: Redis
  readonly #health: DependencyHealth
  readonly #prefix: string
  readonly #unconfirmed: UnconfirmedInvalidations
  readonly #breaker: CacheBreaker

  constructor (target: RedisTarget, prefix: string, breaker: { failures: number, openMs: number } = { failures: 5, openMs: 2000 }) {
    super()
    const { redis, health } = createFailFastRedis(target, 'cache')
    this.#redis = redis
    this.#health = health
    this.#prefix = prefix
    cacheDegraded.set(0)
    this.#breaker = new CacheBreaker({
      ...breaker,
      onChange: (state) => {
        cacheDegraded.set(state === 'closed' ? 0 : 1)
        adapterLog.warn({ breaker: state }, state === 'closed' ? 'cache breaker closed: using redis again' : `cache breaker ${state}: serving from the database`)
      },
    })
    this.#unconfirmed = new UnconfirmedInvalidations(async (keys, tags) => { await this.#invalidate(keys, tags) })
    // Fire and forget: flush() never rejects, and its timer retries what still fails.
    this.#redis.on('ready', () => { void this.#unconfirmed.flush() })
  }

  async get<T>(key: string): Promise<T | undefined> {
    // An entry whose invalidation Redis has not confirmed may be stale: load it instead.
    if (this.#unconfirmed.has(key) || !this.#breaker.allow()) return undefined
    let raw: string | null
    try {
      raw = await this.#redis.get(this.#prefix + key)
      this.#breaker.success()
    } catch (err) {
      this.#failed('get', err)
      return undefined
    }
    return raw === null ? undefined : JSON.parse(raw) as T
  }

  async set<T>(key: string, value: T, ttlSeconds: number, options: CacheSetOptions = {}): Promise<void> {
    if (this.#unconfirmed.has(key) || !this.#breaker.allow()) return
    const fullKey = this.#prefix + key
    const multi = this.#redis.multi().set(fullKey, JSON.stringify(value), 'EX', ttlSeconds)
    for (const tag of options.tags ?? []) {
      const tagKey = `${this.#prefix}tag:${tag}`
      // The tag outlives its entries so an invalidation always finds them.
      multi.sadd(tagKey, fullKey).expire(tagKey, ttlSeconds * 2, 'GT').expire(tagKey, ttlSeconds * 2, 'NX')
    }
    try {
      await multi.exec()
      this.#breaker.success()
    } catch (err) {
      this.#failed('set', err)
    }
  }

  async delete (...keys: string[]): Promise<void> {
    if (keys.length === 0) return
    await this.#invalidateOrRemember(keys, [], 'delete')
  }

  async invalidateTags (...tags: string[]): Promise<void> {
    if (tags.length === 0) return
    await this.#invalidateOrRemember([], tags, 'invalidate_tags')
  }

  async #invalidateOrRemember (keys: string[], tags: string[], operation: string): Promise<void> {
    try {
      if (!this.#breaker.allow()) throw new Error('cache breaker open')
      await this.#invalidate(keys, tags)
    } catch (err) {
      this.#failed(operation, err)
      adapterLog.warn({ err, keys, tags }, 'cache invalidation failed; retrying until redis confirms it')
      this.#unconfirmed.add(keys, tags)
    }
  }

  async #invalidate (keys: readonly string[], tags: readonly string[]): Promise<void> {
    await Promise.all([
      keys.length === 0 ? undefined : this.#redis.del(...keys.map((k) => this.#prefix + k)),
      ...tags.map(async (tag) => await this.#redis.eval(INVALIDATE_TAG, 1, `${this.#prefix}tag:${tag}`)),
    ])
    this.#health.markUp()
    this.#breaker.success()
  }

  #failed (operation: string, err: unknown): void {
    cacheErrors.inc({ operation })
    this.#breaker.failure()
    if (isRedisConnectionError(err)) this.#health.markDown(err)
  }

  async dependencyStates (): Promise<{ cache: DependencyState }> {
    return { cache: await this.#health.current() }
  }

  /** Parts serving without Redis: the cache while its breaker is not closed. */
  degradedParts (): string[] {
    return this.#breaker.state === 'closed' ? [] : ['cache']
  }

  async close (): Promise<void> {
    this.#unconfirmed.stop()
    await this.#redis.quit().catch(() => { this.#redis.disconnect() })
  }
}
