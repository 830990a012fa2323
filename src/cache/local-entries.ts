import { LRUCache } from 'lru-cache'
import type { StoredEntry } from './cache-entry.js'

interface Held { readonly entry: StoredEntry, readonly tags: readonly string[] }

/**
 * Entries in this process: a bounded LRU (lru-cache) plus an index of tags to keys that shrinks
 * with it (an evicted, expired or deleted entry leaves its tags), so neither grows without bound.
 * Values are cloned in and out: a caller mutating its copy cannot change what others read.
 * Entries are kept until their stale time ends; whether one is fresh is the caller's question.
 */
export class LocalEntries {
  readonly #entries: LRUCache<string, Held>
  readonly #tags = new Map<string, Set<string>>()

  constructor (maxEntries: number) {
    this.#entries = new LRUCache<string, Held>({
      max: maxEntries,
      ttlAutopurge: false,
      dispose: (held, key) => { this.#untag(key, held.tags) },
    })
  }

  get size (): number { return this.#entries.size }

  /** The entry (fresh or stale), or undefined once its stale time is over. */
  get<T>(key: string, now = Date.now()): StoredEntry<T> | undefined {
    const held = this.#entries.get(key)
    if (held === undefined) return undefined
    if (held.entry.staleUntil <= now) {
      this.#entries.delete(key)
      return undefined
    }
    return { ...held.entry, value: structuredClone(held.entry.value) as T }
  }

  set (key: string, entry: StoredEntry, tags: readonly string[] = [], now = Date.now()): void {
    const ttl = entry.staleUntil - now
    if (ttl <= 0) return
    this.#entries.set(key, { entry: { ...entry, value: structuredClone(entry.value) }, tags }, { ttl })
    for (const tag of tags) {
      let keys = this.#tags.get(tag)
      if (keys === undefined) this.#tags.set(tag, keys = new Set())
      keys.add(key)
    }
  }

  delete (keys: readonly string[]): void {
    for (const key of keys) this.#entries.delete(key)
  }

  invalidateTags (tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.#tags.get(tag)
      if (keys === undefined) continue
      this.#tags.delete(tag)
      for (const key of [...keys]) this.#entries.delete(key)
    }
  }

  /** How many tags the index holds (for tests: it must shrink with the entries). */
  get tagCount (): number { return this.#tags.size }

  clear (): void {
    this.#entries.clear()
    this.#tags.clear()
  }

  #untag (key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.#tags.get(tag)
      if (keys === undefined) continue
      keys.delete(key)
      if (keys.size === 0) this.#tags.delete(tag)
    }
  }
}
