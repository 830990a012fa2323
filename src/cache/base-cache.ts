import { cacheRequests } from '../runtime/metrics.js'
import type { Cache, CacheSetOptions, Invalidation, LoadContext, VersionedSetOptions, WritePosition } from '../runtime/ports.js'
import { encodeVersions } from './versions.js'
import { WriteFences } from './write-fences.js'

/**
 * Cache-aside on top of get/set, shared by every cache adapter. Concurrent misses on one key in
 * this process share one load (no stampede from a single instance); adapters shared by several
 * instances add leases on top (lease-load.ts).
 */
export abstract class BaseCache implements Cache {
  readonly #loading = new Map<string, Promise<unknown>>()
  readonly #fences = new WriteFences()
  /** Keys whose load under way must not be stored: a write came in meanwhile (voidLoads). */
  readonly #voided = new Set<string>()

  abstract get<T>(key: string): Promise<T | undefined>
  abstract set<T>(key: string, value: T, ttlSeconds: number, options?: CacheSetOptions): Promise<void>
  abstract delete (...keys: string[]): Promise<void>
  abstract invalidateTags (...tags: string[]): Promise<void>
  abstract setVersioned<T>(key: string, value: T, ttlSeconds: number, options: VersionedSetOptions): Promise<boolean>
  abstract close (): Promise<void>

  async getMany<T>(keys: readonly string[]): Promise<Array<T | undefined>> {
    return await Promise.all(keys.map(async (key) => await this.get<T>(key)))
  }

  async setMany<T>(entries: ReadonlyArray<{ readonly key: string, readonly value: T }>, ttlSeconds: number, options?: CacheSetOptions): Promise<void> {
    await Promise.all(entries.map(async ({ key, value }) => { await this.set(key, value, ttlSeconds, options) }))
  }

  async invalidate (what: Invalidation): Promise<void> {
    const keys = what.keys ?? []
    const tags = what.tags ?? []
    // Checked before anything changes: a bad version refuses the whole invalidation.
    const versions = encodeVersions(what.versions)
    this.raiseVersions(versions)
    if (what.after !== undefined) this.#fences.add(keys, tags, what.after)
    await Promise.all([this.delete(...keys), this.invalidateTags(...tags)])
  }

  async wrap<T>(key: string, ttlSeconds: number, load: (context: LoadContext) => Promise<T>, options?: CacheSetOptions): Promise<T> {
    const cached = await this.get<T>(key)
    if (cached !== undefined) {
      cacheRequests.inc({ result: 'hit' })
      return cached
    }
    cacheRequests.inc({ result: 'miss' })
    return await this.singleFlight(key, async () => {
      const value = await load({ after: this.#fences.of(key, options?.tags ?? []) })
      // A write of this key during the load (voidLoads) wins: what the load read may be older.
      if (value !== undefined && !this.#voided.delete(key)) await this.set(key, value, ttlSeconds, options)
      return value
    })
  }

  /** Loads of these keys read at or after `after` for a while (a write-through's position). */
  protected fenceKeys (keys: readonly string[], after: WritePosition | undefined): void {
    if (after !== undefined) this.#fences.add(keys, [], after)
  }

  /** Keys' versions raised by an invalidation (stores that keep versions override this). */
  protected raiseVersions (_versions: ReadonlyMap<string, string>): void {}

  /**
   * A write of these keys: loads of them under way in this process store nothing (the in-process
   * counterpart of a voided lease). Stores with leases of their own need not call it.
   */
  protected voidLoads (keys: readonly string[]): void {
    for (const key of keys) if (this.#loading.has(key)) this.#voided.add(key)
  }

  /** Runs `fn` for `key` unless a run for it is under way in this process; then shares that run's result. */
  protected async singleFlight<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const pending = this.#loading.get(key)
    if (pending !== undefined) return await (pending as Promise<T>)
    const running = fn()
    this.#loading.set(key, running)
    try {
      return await running
    } finally {
      this.#loading.delete(key)
      this.#voided.delete(key)
    }
  }
}
