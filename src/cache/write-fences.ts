import { LRUCache } from 'lru-cache'
import type { WritePosition } from '../runtime/ports.js'

/** How long after a write the loads of what it invalidated read at or after its position. */
export const FENCE_SECONDS = 60

/** The greater of two write positions (fixed width: string order is position order). */
export function laterPosition (a: WritePosition | undefined, b: WritePosition | undefined): WritePosition | undefined {
  if (a === undefined || a === '') return b === '' ? undefined : b
  if (b === undefined || b === '') return a
  return a > b ? a : b
}

/**
 * Write fences in this process: for FENCE_SECONDS after an invalidation with a write position,
 * the keys and tags it named remember the greatest such position (bounded LRUs).
 */
export class WriteFences {
  readonly #keys = new LRUCache<string, WritePosition>({ max: 10_000, ttl: FENCE_SECONDS * 1000 })
  readonly #tags = new LRUCache<string, WritePosition>({ max: 1_000, ttl: FENCE_SECONDS * 1000 })

  add (keys: readonly string[], tags: readonly string[], after: WritePosition): void {
    for (const key of keys) this.#keys.set(key, laterPosition(this.#keys.get(key), after) ?? after)
    for (const tag of tags) this.#tags.set(tag, laterPosition(this.#tags.get(tag), after) ?? after)
  }

  /** The position a load of `key` with `tags` must read at or after, if any. */
  of (key: string, tags: readonly string[]): WritePosition | undefined {
    let after = this.#keys.get(key)
    for (const tag of tags) after = laterPosition(after, this.#tags.get(tag))
    return after
  }
}
