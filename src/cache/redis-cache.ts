import { randomUUID } from 'node:crypto'
import type { ChainableCommander, Redis } from 'ioredis'
import { isRedisConnectionError } from '../runtime/connection-errors.js'
import type { DependencyHealth, DependencyState, ReportsDependencies } from '../runtime/dependencies.js'
import { adapterLog } from '../runtime/log.js'
import { cacheDegraded, cacheErrors, cacheLeases, cacheRequests } from '../runtime/metrics.js'
import type { CacheSetOptions, Invalidation, LoadContext, VersionedSetOptions, WritePosition } from '../runtime/ports.js'
import { createFailFastRedis, type RedisTarget } from '../runtime/redis-client.js'
import { BaseCache } from './base-cache.js'
import { CacheBreaker } from './breaker.js'
import { NO_GRACE, decodeEntry, encodeEntry, entryTimes, type StoredEntry, type TtlPolicy } from './cache-entry.js'
import { deleteByPrefix, type ChangeStreamCache } from './full-flush.js'
import { encodeBusMessage } from './invalidation-bus.js'
import { loadWithLease, type LeasedStore, type Loaded, type Lookup } from './lease-load.js'
import { FENCE, FILL, LOOKUP, RAISE_VERSION, RELEASE, SET_VERSIONED, TAG_ADD, entryFenceKey, entryKey, entryVersionKey, leaseKey, tagFenceKey, tagKey } from './redis-scripts.js'
import { VERSION_MIN_SECONDS, encodeVersion, encodeVersions } from './versions.js'
import { FENCE_SECONDS, laterPosition } from './write-fences.js'
import { UnconfirmedInvalidations } from './unconfirmed-invalidations.js'

export interface RedisCacheOptions {
  /** Consecutive failed calls that open the breaker, and how long it stays open. */
  readonly breaker?: { readonly failures: number, readonly openMs: number }
  /** Grace (stale-while-revalidate) and TTL jitter. */
  readonly ttl?: TtlPolicy
  /** How long a lease lasts (a loader that dies blocks no one longer), and how long other misses wait for its value. */
  readonly leases?: { readonly ms: number, readonly waitMs: number }
  /** The most keys one tag's set holds; a key that would go beyond is not cached. */
  readonly maxTagKeys?: number
  /** Publish every invalidation and set on this channel (the tiered cache's bus), as `origin`. */
  readonly bus?: { readonly channel: string, readonly origin: string }
}

/** A pipeline with the two scripts an invalidation queues (defined on the client, so pipelines have them too). */
type InvalidationPipeline = ChainableCommander & {
  cacheFence(fence: string, position: string, px: number): InvalidationPipeline
  cacheRaiseVersion(version: string, encodedVersion: string, px: number): InvalidationPipeline
}

interface Scripts {
  cacheLookup(entry: string, lease: string, fence: string, now: number, token: string, leaseMs: number): Promise<[string, number, number, string]>
  cacheFill(entry: string, lease: string, token: string, payload: string, px: number): Promise<number>
  cacheRelease(lease: string, token: string): Promise<number>
  cacheTagAdd(tag: string, fence: string, key: string, max: number, seconds: number): Promise<[number, string]>
  cacheSetVersioned(entry: string, lease: string, version: string, fence: string, encodedVersion: string, payload: string, px: number, versionPx: number, position: string, fencePx: number): Promise<number>
}

/**
 * Shared cache in Redis: entries with a fresh and a stale time (cache-entry.ts), leases against
 * stampedes and against storing a value loaded before a write (lease-load.ts), tags as bounded
 * Redis sets. Every script declares its keys (redis-scripts.ts).
 *
 * A cache is an optimisation, so a Redis that fails never fails the request (it fails open): a
 * get is a miss (the caller loads from the database), a set is skipped, and a delete or tag
 * invalidation that fails is logged, counted (outgrow_cache_errors_total) and retried until Redis
 * confirms it. A breaker (breaker.ts) stops asking a Redis that keeps failing; while it is not
 * closed the cache is `degraded` (in /readyz and outgrow_cache_degraded).
 */
export class RedisCache extends BaseCache implements ReportsDependencies, LeasedStore, ChangeStreamCache {
  readonly #redis: Redis
  readonly #scripts: Scripts
  readonly #health: DependencyHealth
  readonly #prefix: string
  readonly #unconfirmed: UnconfirmedInvalidations
  readonly #breaker: CacheBreaker
  readonly #policy: TtlPolicy
  readonly #leases: { readonly ms: number, readonly waitMs: number }
  readonly #maxTagKeys: number
  readonly #bus: { readonly channel: string, readonly origin: string } | undefined

  constructor (target: RedisTarget, prefix: string, options: RedisCacheOptions = {}) {
    super()
    const { redis, health } = createFailFastRedis(target, 'cache')
    this.#redis = redis
    this.#health = health
    this.#prefix = prefix
    this.#policy = options.ttl ?? NO_GRACE
    this.#leases = options.leases ?? { ms: 5000, waitMs: 500 }
    this.#maxTagKeys = options.maxTagKeys ?? 10_000
    this.#bus = options.bus
    redis.defineCommand('cacheLookup', { numberOfKeys: 3, lua: LOOKUP })
    redis.defineCommand('cacheFill', { numberOfKeys: 2, lua: FILL })
    redis.defineCommand('cacheRelease', { numberOfKeys: 1, lua: RELEASE })
    redis.defineCommand('cacheTagAdd', { numberOfKeys: 2, lua: TAG_ADD })
    redis.defineCommand('cacheFence', { numberOfKeys: 1, lua: FENCE })
    redis.defineCommand('cacheSetVersioned', { numberOfKeys: 4, lua: SET_VERSIONED })
    redis.defineCommand('cacheRaiseVersion', { numberOfKeys: 1, lua: RAISE_VERSION })
    this.#scripts = redis as unknown as Scripts
    cacheDegraded.set(0)
    this.#breaker = new CacheBreaker({
      ...(options.breaker ?? { failures: 5, openMs: 2000 }),
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
    return (await this.getEntries<T>([key]))[0]?.value
  }

  override async getMany<T>(keys: readonly string[]): Promise<Array<T | undefined>> {
    return (await this.getEntries<T>(keys)).map((entry) => entry?.value)
  }

  /** The fresh entries of `keys` in one round trip (the GETs are pipelined); undefined for misses. */
  async getEntries<T>(keys: readonly string[]): Promise<Array<StoredEntry<T> | undefined>> {
    const asked = keys.filter((key) => !this.#unconfirmed.has(key))
    if (asked.length === 0 || !this.#breaker.allow()) return keys.map(() => undefined)
    let raws: Array<string | null>
    try {
      raws = await Promise.all(asked.map(async (key) => await this.#redis.get(entryKey(this.#prefix, key))))
      this.#breaker.success()
    } catch (err) {
      this.#failed('get', err)
      return keys.map(() => undefined)
    }
    const now = Date.now()
    const found = new Map<string, StoredEntry<T>>()
    asked.forEach((key, i) => {
      const raw = raws[i]
      const entry = raw === null || raw === undefined ? undefined : decodeEntry<T>(raw, 0)
      if (entry !== undefined && entry.freshUntil > now) found.set(key, { ...entry, staleUntil: entry.freshUntil })
    })
    return keys.map((key) => found.get(key))
  }

  async set<T>(key: string, value: T, ttlSeconds: number, options: CacheSetOptions = {}): Promise<void> {
    if (this.#unconfirmed.has(key) || !this.#breaker.allow()) return
    try {
      if (!(await this.#tag(key, options.tags ?? [], ttlSeconds)).cached) return
      const now = Date.now()
      const { freshUntil, staleUntil } = entryTimes(ttlSeconds, this.#policy, now)
      // A set replaces whatever a loader holding the lease would store.
      const multi = this.#redis.multi()
        .set(entryKey(this.#prefix, key), encodeEntry(value, freshUntil, options.tags), 'PX', staleUntil - now)
        .del(leaseKey(this.#prefix, key))
      if (this.#bus !== undefined) multi.publish(this.#bus.channel, encodeBusMessage({ origin: this.#bus.origin, keys: [key], tags: [] }))
      await multi.exec()
      this.#breaker.success()
    } catch (err) {
      this.#failed('set', err)
    }
  }

  /**
   * Write-through (SET_VERSIONED). When Redis cannot take it, the key is invalidated instead
   * (retried until Redis confirms it): the entry must not keep the value this write replaced.
   */
  async setVersioned<T>(key: string, value: T, ttlSeconds: number, options: VersionedSetOptions): Promise<boolean> {
    const version = encodeVersion(options.version)
    const tags = options.tags ?? []
    if (this.#unconfirmed.has(key) || !this.#breaker.allow()) {
      await this.#invalidateOrRemember([key], [], 'set_versioned', options.after)
      return false
    }
    try {
      if (!(await this.#tag(key, tags, ttlSeconds)).cached) {
        await this.#invalidate([key], [], options.after)
        return false
      }
      const now = Date.now()
      const { freshUntil, staleUntil } = entryTimes(ttlSeconds, this.#policy, now)
      const px = staleUntil - now
      const stored = await this.#scripts.cacheSetVersioned(
        entryKey(this.#prefix, key), leaseKey(this.#prefix, key), entryVersionKey(this.#prefix, key), entryFenceKey(this.#prefix, key),
        version, encodeEntry(value, freshUntil, tags), px, Math.max(px, VERSION_MIN_SECONDS * 1000), options.after ?? '', FENCE_SECONDS * 1000)
      if (stored === 1 && this.#bus !== undefined) await this.#redis.publish(this.#bus.channel, encodeBusMessage({ origin: this.#bus.origin, keys: [key], tags: [] }))
      this.#breaker.success()
      return stored === 1
    } catch (err) {
      // Whether the script ran is unknown: the key is invalidated until Redis confirms it.
      this.#failed('set_versioned', err)
      adapterLog.warn({ err, key }, 'cache write-through failed; invalidating the key until redis confirms it')
      this.#unconfirmed.add([key], [])
      return false
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

  override async invalidate (what: Invalidation): Promise<void> {
    const keys = [...what.keys ?? []]
    const tags = [...what.tags ?? []]
    // Checked before anything changes: a bad version refuses the whole invalidation.
    const versions = encodeVersions(what.versions)
    if (keys.length === 0 && tags.length === 0 && versions.size === 0) return
    await this.#invalidateOrRemember(keys, tags, 'invalidate', what.after, versions)
  }

  /** invalidate() that rejects unless Redis confirmed it (full-flush.ts); nothing is kept to retry. */
  async invalidateConfirmed (what: Invalidation): Promise<void> {
    const keys = [...what.keys ?? []]
    const tags = [...what.tags ?? []]
    if (keys.length === 0 && tags.length === 0) return
    try {
      await this.#invalidate(keys, tags, what.after)
    } catch (err) {
      this.#failed('invalidate', err)
      throw err
    }
  }

  /** Deletes everything under the prefix, then tells the other instances to empty their L1. */
  async flushAll (): Promise<void> {
    try {
      await deleteByPrefix(this.#redis, this.#prefix)
      if (this.#bus !== undefined) await this.#redis.publish(this.#bus.channel, encodeBusMessage({ origin: this.#bus.origin, keys: [], tags: [], all: true }))
    } catch (err) {
      this.#failed('flush_all', err)
      throw err
    }
  }

  override async wrap<T>(key: string, ttlSeconds: number, load: (context: LoadContext) => Promise<T>, options: CacheSetOptions = {}): Promise<T> {
    return (await this.singleFlight(key, async () => await this.load(key, ttlSeconds, load, options))).value
  }

  /** wrap() with what it cached: the tiered cache keeps the same entry in its own tier. */
  async load<T>(key: string, ttlSeconds: number, load: (context: LoadContext) => Promise<T>, options: CacheSetOptions = {}): Promise<Loaded<T>> {
    const loaded = await loadWithLease(this, key, ttlSeconds, load, options, this.#leases.waitMs)
    cacheRequests.inc({ result: loaded.hit === true ? 'hit' : 'miss' })
    return loaded
  }

  async lookup<T>(key: string, tags: readonly string[], ttlSeconds: number): Promise<Lookup<T>> {
    if (this.#unconfirmed.has(key) || !this.#breaker.allow()) return { state: 'unavailable' }
    const entry = entryKey(this.#prefix, key)
    const lease = leaseKey(this.#prefix, key)
    const fence = entryFenceKey(this.#prefix, key)
    try {
      // A hit is a plain GET, the cheapest thing Redis does: the entry carries its freshness, and
      // its grace follows from the TTL policy (the same for every instance of a service).
      const now = Date.now()
      const raw = await this.#redis.get(entry)
      const current = raw === null ? undefined : decodeEntry<T>(raw, 0)
      if (current !== undefined && current.freshUntil > now) {
        this.#breaker.success()
        return { state: 'fresh', entry: { ...current, staleUntil: current.freshUntil + this.#policy.graceSeconds * 1000 } }
      }
      // A miss: the key joins its tags before it may be loaded, so an invalidation of a tag
      // while it loads finds it and voids its lease.
      const tagged = await this.#tag(key, tags, ttlSeconds)
      if (!tagged.cached) return { state: 'unavailable', after: tagged.after }
      const token = randomUUID()
      const again = Date.now()
      const [raw2, pttl2, state, keyFence] = await this.#scripts.cacheLookup(entry, lease, fence, again, token, this.#leases.ms)
      this.#breaker.success()
      const found = raw2 === '' ? undefined : decodeEntry<T>(raw2, again + pttl2)
      const after = laterPosition(keyFence, tagged.after)
      if (state === 0) return found === undefined ? { state: 'unavailable', after } : { state: 'fresh', entry: found }
      return state === 1 ? { state: 'granted', entry: found, token, after } : { state: 'busy', entry: found, after }
    } catch (err) {
      this.#failed('get', err)
      return { state: 'unavailable' }
    }
  }

  async fill<T>(key: string, token: string, value: T, ttlSeconds: number, tags: readonly string[]): Promise<StoredEntry<T> | undefined> {
    if (this.#unconfirmed.has(key) || !this.#breaker.allow()) return undefined
    const now = Date.now()
    const { freshUntil, staleUntil } = entryTimes(ttlSeconds, this.#policy, now)
    try {
      const stored = await this.#scripts.cacheFill(entryKey(this.#prefix, key), leaseKey(this.#prefix, key), token, encodeEntry(value, freshUntil, tags), staleUntil - now)
      this.#breaker.success()
      return stored === 1 ? { value, freshUntil, staleUntil, tags } : undefined
    } catch (err) {
      this.#failed('set', err)
      return undefined
    }
  }

  async release (key: string, token: string): Promise<void> {
    try {
      await this.#scripts.cacheRelease(leaseKey(this.#prefix, key), token)
    } catch (err) {
      // The lease runs out by itself.
      this.#failed('release', err)
    }
  }

  /**
   * Adds key to each tag's set: cached is false when one is full (then the key is not cached);
   * after is the greatest write fence of the tags.
   */
  async #tag (key: string, tags: readonly string[], ttlSeconds: number): Promise<{ cached: boolean, after?: WritePosition | undefined }> {
    if (tags.length === 0) return { cached: true }
    const seconds = Math.ceil(2 * (ttlSeconds + this.#policy.graceSeconds))
    const added = await Promise.all(tags.map(async (tag) => await this.#scripts.cacheTagAdd(tagKey(this.#prefix, tag), tagFenceKey(this.#prefix, tag), key, this.#maxTagKeys, seconds)))
    const after = added.reduce<WritePosition | undefined>((max, [, fence]) => laterPosition(max, fence), undefined)
    if (added.every(([cached]) => cached === 1)) return { cached: true, after }
    cacheLeases.inc({ outcome: 'tag_full' })
    return { cached: false, after }
  }

  async #invalidateOrRemember (keys: string[], tags: string[], operation: string, after?: WritePosition, versions?: ReadonlyMap<string, string>): Promise<void> {
    try {
      if (!this.#breaker.allow()) throw new Error('cache breaker open')
      await this.#invalidate(keys, tags, after, versions)
    } catch (err) {
      this.#failed(operation, err)
      adapterLog.warn({ err, keys, tags }, 'cache invalidation failed; retrying until redis confirms it')
      this.#unconfirmed.add(keys, tags)
    }
  }

  /**
   * Raises the keys' versions (never lowers them), so an older write-through arriving later
   * loses; fences the keys and tags when given a write position (for FENCE_SECONDS their loads
   * read at or after it); deletes the keys and the keys of the tags, each with its lease (so a
   * load under way cannot store what it read before); takes the deleted keys out of the tags'
   * sets (keys added meanwhile stay); then tells the other instances. One pipeline, which Redis
   * runs in this order: one round trip after the tags' members are read, not one per stage — on
   * a server with a fraction of a core each round trip can cost a CPU period. Any command that
   * failed fails the whole invalidation, which is then retried whole (every step is idempotent).
   */
  async #invalidate (keys: readonly string[], tags: readonly string[], after?: WritePosition, versions?: ReadonlyMap<string, string>): Promise<void> {
    const members = await Promise.all(tags.map(async (tag) => await this.#redis.smembers(tagKey(this.#prefix, tag))))
    const all = new Set([...keys, ...members.flat()])
    const batch = this.#redis.pipeline() as InvalidationPipeline
    for (const [key, version] of versions ?? []) batch.cacheRaiseVersion(entryVersionKey(this.#prefix, key), version, VERSION_MIN_SECONDS * 1000)
    if (after !== undefined) {
      for (const key of all) batch.cacheFence(entryFenceKey(this.#prefix, key), after, FENCE_SECONDS * 1000)
      for (const tag of tags) batch.cacheFence(tagFenceKey(this.#prefix, tag), after, FENCE_SECONDS * 1000)
    }
    for (const key of all) batch.del(entryKey(this.#prefix, key), leaseKey(this.#prefix, key))
    tags.forEach((tag, i) => {
      const taken = members[i] ?? []
      if (taken.length > 0) batch.srem(tagKey(this.#prefix, tag), ...taken)
    })
    if (this.#bus !== undefined) batch.publish(this.#bus.channel, encodeBusMessage({ origin: this.#bus.origin, keys: [...keys], tags: [...tags] }))
    const results = await batch.exec()
    const failure = results === null ? new Error('the invalidation pipeline was discarded') : results.find(([err]) => err !== null)?.[0]
    if (failure !== undefined && failure !== null) throw failure
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
