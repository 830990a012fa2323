import { cacheRequests } from '../runtime/metrics.js'
import type { Cache, CacheSetOptions } from '../runtime/ports.js'

/**
 * Cache-aside on top of get/set, shared by every cache adapter. Concurrent misses on one key in
 * this process share one load (no stampede from a single instance).
 */
export abstract class BaseCache implements Cache {
  readonly #loading = new Map<string, Promise<unknown>>()

  abstract get<T>(key: string): Promise<T | undefined>
  abstract set<T>(key: string, value: T, ttlSeconds: number, options?: CacheSetOptions): Promise<void>
  abstract delete (...keys: string[]): Promise<void>
  abstract invalidateTags (...tags: string[]): Promise<void>
  abstract close (): Promise<void>

  async wrap<T>(key: string, ttlSeconds: number, load: () => Promise<T>, options?: CacheSetOptions): Promise<T> {
    const cached = await this.get<T>(key)
    if (cached !== undefined) {
      cacheRequests.inc({ result: 'hit' })
      return cached
    }
    cacheRequests.inc({ result: 'miss' })
    const pending = this.#loading.get(key)
    if (pending !== undefined) return await (pending as Promise<T>)
    const loading = (async () => {
      const value = await load()
      if (value !== undefined) await this.set(key, value, ttlSeconds, options)
      return value
    })()
    this.#loading.set(key, loading)
    try {
      return await loading
    } finally {
      this.#loading.delete(key)
    }
  }
}
