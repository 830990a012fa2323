import { LRUCache } from 'lru-cache'
import type { CacheSetOptions } from '../runtime/ports.js'
import { BaseCache } from './base-cache.js'

/** In-process LRU cache with TTLs and tags: the single-server default. */
export class MemoryCache extends BaseCache {
  readonly #entries: LRUCache<string, { value: unknown }>
  readonly #tags = new Map<string, Set<string>>()

  constructor (maxEntries: number) {
    super()
    this.#entries = new LRUCache({ max: maxEntries, ttlAutopurge: false })
  }

  async get<T>(key: string): Promise<T | undefined> {
    // Values are cloned so a caller mutating its copy cannot change what others read.
    const entry = this.#entries.get(key)
    return entry === undefined ? undefined : structuredClone(entry.value) as T
  }

  async set<T>(key: string, value: T, ttlSeconds: number, options: CacheSetOptions = {}): Promise<void> {
    this.#entries.set(key, { value: structuredClone(value) }, { ttl: ttlSeconds * 1000 })
    for (const tag of options.tags ?? []) {
      let keys = this.#tags.get(tag)
      if (keys === undefined) this.#tags.set(tag, keys = new Set())
      keys.add(key)
    }
  }

  async delete (...keys: string[]): Promise<void> {
    for (const key of keys) this.#entries.delete(key)
  }

  async invalidateTags (...tags: string[]): Promise<void> {
    for (const tag of tags) {
      const keys = this.#tags.get(tag)
      if (keys === undefined) continue
      this.#tags.delete(tag)
      for (const key of keys) this.#entries.delete(key)
    }
  }

  async close (): Promise<void> {
    this.#entries.clear()
    this.#tags.clear()
  }
}

/** A cache that never holds anything: every wrap() loads. For measuring what a cache buys. */
export class NoCache extends BaseCache {
  async get<T>(): Promise<T | undefined> { return undefined }
  async set (): Promise<void> {}
  async delete (): Promise<void> {}
  async invalidateTags (): Promise<void> {}
  async close (): Promise<void> {}
}
