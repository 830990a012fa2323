import type { CacheSetOptions, Invalidation, VersionedSetOptions } from '../runtime/ports.js'
import { BaseCache } from './base-cache.js'
import type { ChangeStreamCache } from './full-flush.js'
import { LocalEntries } from './local-entries.js'
import { LocalVersions, encodeVersion } from './versions.js'

/** In-process LRU cache with TTLs and tags: the single-server default. */
export class MemoryCache extends BaseCache implements ChangeStreamCache {
  readonly #entries: LocalEntries
  readonly #versions: LocalVersions

  constructor (maxEntries: number) {
    super()
    this.#entries = new LocalEntries(maxEntries)
    this.#versions = new LocalVersions(maxEntries)
  }

  async get<T>(key: string): Promise<T | undefined> {
    return this.#entries.get<T>(key)?.value
  }

  async set<T>(key: string, value: T, ttlSeconds: number, options: CacheSetOptions = {}): Promise<void> {
    const now = Date.now()
    const until = now + ttlSeconds * 1000
    this.#entries.set(key, { value, freshUntil: until, staleUntil: until }, options.tags, now)
  }

  async setVersioned<T>(key: string, value: T, ttlSeconds: number, options: VersionedSetOptions): Promise<boolean> {
    const version = encodeVersion(options.version)
    const ttlMs = ttlSeconds * 1000
    if (!this.#versions.raise(key, version, ttlMs)) return false
    this.voidLoads([key])
    this.fenceKeys([key], options.after)
    const now = Date.now()
    this.#entries.set(key, { value, freshUntil: now + ttlMs, staleUntil: now + ttlMs }, options.tags, now)
    return true
  }

  protected override raiseVersions (versions: ReadonlyMap<string, string>): void {
    for (const [key, version] of versions) this.#versions.raise(key, version, 0)
  }

  async delete (...keys: string[]): Promise<void> {
    this.voidLoads(keys)
    this.#entries.delete(keys)
  }

  async invalidateTags (...tags: string[]): Promise<void> {
    this.#entries.invalidateTags(tags)
  }

  /** In the process, an invalidation cannot fail: confirmed once done. */
  async invalidateConfirmed (what: Invalidation): Promise<void> { await this.invalidate(what) }

  async flushAll (): Promise<void> { this.#entries.clear() }

  /** Tags indexed (they leave with their entries). */
  get tagCount (): number { return this.#entries.tagCount }

  async close (): Promise<void> {
    this.#entries.clear()
    this.#versions.clear()
  }
}

/** A cache that never holds anything: every wrap() loads. For measuring what a cache buys. */
export class NoCache extends BaseCache implements ChangeStreamCache {
  async get<T>(): Promise<T | undefined> { return undefined }
  async invalidateConfirmed (): Promise<void> {}
  async flushAll (): Promise<void> {}
  async set (): Promise<void> {}
  async setVersioned (_key: string, _value: unknown, _ttlSeconds: number, options: VersionedSetOptions): Promise<boolean> {
    encodeVersion(options.version)
    return false
  }

  async delete (): Promise<void> {}
  async invalidateTags (): Promise<void> {}
  async close (): Promise<void> {}
}
