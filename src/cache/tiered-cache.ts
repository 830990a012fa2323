import { randomUUID } from 'node:crypto'
import type { DependencyState, ReportsDependencies } from '../runtime/dependencies.js'
import { adapterLog } from '../runtime/log.js'
import { cacheL1Requests, cacheRequests } from '../runtime/metrics.js'
import type { CacheSetOptions, Invalidation, LoadContext, VersionedSetOptions } from '../runtime/ports.js'
import type { RedisTarget } from '../runtime/redis-client.js'
import { BaseCache } from './base-cache.js'
import type { StoredEntry } from './cache-entry.js'
import type { ChangeStreamCache } from './full-flush.js'
import { HotKeys } from './hot-keys.js'
import { InvalidationBus } from './invalidation-bus.js'
import { LocalEntries } from './local-entries.js'
import { RedisCache, type RedisCacheOptions } from './redis-cache.js'

export interface TieredCacheOptions extends Omit<RedisCacheOptions, 'bus'> {
  /** Entries the in-process tier holds (an LRU). */
  readonly l1MaxEntries: number
  /** When set, L1 keeps only keys among this many hottest (top-k of look-ups); unset: every key. */
  readonly l1HotKeys?: number | undefined
}

/**
 * Two tiers: a bounded LRU in this process (L1) in front of the shared Redis cache (L2, with its
 * leases). Every delete, tag invalidation and set goes to Redis and is published on the
 * invalidation bus, and every other instance drops the keys and tags from its L1 on receipt.
 *
 * L1 is used only while the bus is live: when the subscription is lost, L1 is emptied and not
 * filled until it is back, so a missed message can never leave a stale entry here. A value read
 * from Redis is kept in L1 only if no invalidation arrived while it was being read (an epoch
 * counter), so an entry deleted meanwhile is not put back. L1 keeps an entry only as long as it is
 * fresh (or stale within grace) in Redis.
 */
export class TieredCache extends BaseCache implements ReportsDependencies, ChangeStreamCache {
  readonly #l1: LocalEntries
  readonly #l2: RedisCache
  readonly #bus: InvalidationBus
  readonly #hot: HotKeys | undefined
  /** Counts invalidations seen; a read from L2 fills L1 only if it did not change meanwhile. */
  #epoch = 0

  constructor (target: RedisTarget, prefix: string, options: TieredCacheOptions) {
    super()
    const origin = randomUUID()
    const channel = `${prefix}bus`
    this.#l1 = new LocalEntries(options.l1MaxEntries)
    this.#hot = options.l1HotKeys === undefined ? undefined : new HotKeys(options.l1HotKeys)
    this.#l2 = new RedisCache(target, prefix, { ...options, bus: { channel, origin } })
    this.#bus = new InvalidationBus(target, channel, origin, {
      onInvalidate: (keys, tags) => { this.#drop(keys, tags) },
      onLost: () => { this.#epoch++; this.#l1.clear() },
      onFlushAll: () => { this.#epoch++; this.#l1.clear() },
    })
  }

  /** Resolves once the bus is subscribed (until then L1 is not used). */
  async ready (): Promise<void> { await this.#bus.ready() }

  async get<T>(key: string): Promise<T | undefined> {
    return (await this.getMany<T>([key]))[0]
  }

  override async getMany<T>(keys: readonly string[]): Promise<Array<T | undefined>> {
    const now = Date.now()
    const values: Array<T | undefined> = []
    const missing: number[] = []
    keys.forEach((key, i) => {
      this.#hot?.observe(key)
      const local = this.#bus.live ? this.#l1.get<T>(key, now) : undefined
      if (local !== undefined && local.freshUntil > now) {
        cacheL1Requests.inc({ result: 'hit' })
        values[i] = local.value
      } else {
        cacheL1Requests.inc({ result: 'miss' })
        missing.push(i)
      }
    })
    if (missing.length === 0) return values
    const epoch = this.#epoch
    const entries = await this.#l2.getEntries<T>(missing.map((i) => keys[i] as string))
    missing.forEach((i, j) => {
      const entry = entries[j]
      values[i] = entry?.value
      if (entry !== undefined) this.#keep(keys[i] as string, entry, epoch)
    })
    return values
  }

  async set<T>(key: string, value: T, ttlSeconds: number, options: CacheSetOptions = {}): Promise<void> {
    this.#drop([key], [])
    await this.#l2.set(key, value, ttlSeconds, options)
  }

  /** Write-through in Redis (versioned); every instance drops the key from its L1 when it is stored. */
  async setVersioned<T>(key: string, value: T, ttlSeconds: number, options: VersionedSetOptions): Promise<boolean> {
    this.#drop([key], [])
    return await this.#l2.setVersioned(key, value, ttlSeconds, options)
  }

  async delete (...keys: string[]): Promise<void> {
    this.#drop(keys, [])
    await this.#l2.delete(...keys)
  }

  async invalidateTags (...tags: string[]): Promise<void> {
    this.#drop([], tags)
    await this.#l2.invalidateTags(...tags)
  }

  override async invalidate (what: Invalidation): Promise<void> {
    this.#drop(what.keys ?? [], what.tags ?? [])
    await this.#l2.invalidate(what)
  }

  async invalidateConfirmed (what: Invalidation): Promise<void> {
    this.#drop(what.keys ?? [], what.tags ?? [])
    await this.#l2.invalidateConfirmed(what)
  }

  async flushAll (): Promise<void> {
    this.#epoch++
    this.#l1.clear()
    await this.#l2.flushAll()
  }

  override async wrap<T>(key: string, ttlSeconds: number, load: (context: LoadContext) => Promise<T>, options: CacheSetOptions = {}): Promise<T> {
    const now = Date.now()
    this.#hot?.observe(key)
    const local = this.#bus.live ? this.#l1.get<T>(key, now) : undefined
    if (local !== undefined) {
      cacheRequests.inc({ result: 'hit' })
      if (local.freshUntil > now) {
        cacheL1Requests.inc({ result: 'hit' })
        return local.value
      }
      // Stale within grace: served, and refreshed through L2 (one refresh per process).
      cacheL1Requests.inc({ result: 'stale' })
      this.#fromL2(key, ttlSeconds, load, options).catch((err: unknown) => {
        adapterLog.warn({ err, key }, 'cache refresh failed; the stale value is served until its grace ends')
      })
      return local.value
    }
    cacheL1Requests.inc({ result: 'miss' })
    return await this.#fromL2(key, ttlSeconds, load, options)
  }

  async #fromL2<T>(key: string, ttlSeconds: number, load: (context: LoadContext) => Promise<T>, options: CacheSetOptions): Promise<T> {
    return await this.singleFlight(key, async () => {
      const epoch = this.#epoch
      const loaded = await this.#l2.load(key, ttlSeconds, load, options)
      if (loaded.entry !== undefined) this.#keep(key, loaded.entry, epoch)
      return loaded.value
    })
  }

  /** The hottest keys this instance sees, hottest first (none unless `l1HotKeys` is set). */
  hotKeys (n?: number): Array<{ key: string, count: number }> {
    return this.#hot?.top(n) ?? []
  }

  /**
   * Keeps an entry read from L2 in L1, unless the bus is down, an invalidation came in since
   * `epoch`, or only hot keys are kept and this one is not.
   */
  #keep (key: string, entry: StoredEntry, epoch: number): void {
    if (!this.#bus.live || epoch !== this.#epoch) return
    if (this.#hot !== undefined && !this.#hot.isHot(key)) return
    this.#l1.set(key, entry, entry.tags)
  }

  #drop (keys: readonly string[], tags: readonly string[]): void {
    this.#epoch++
    this.#l1.delete(keys)
    this.#l1.invalidateTags(tags)
  }

  async dependencyStates (): Promise<{ cache: DependencyState }> {
    return await this.#l2.dependencyStates()
  }

  degradedParts (): string[] {
    return this.#l2.degradedParts()
  }

  async close (): Promise<void> {
    await this.#bus.close()
    await this.#l2.close()
    this.#l1.clear()
  }
}
