import type { Redis } from 'ioredis'
import type { Invalidation } from '../runtime/ports.js'

/**
 * What a consumer of the database's change stream needs from a cache (src/data/change-feed.ts):
 * invalidations it can confirm before it acknowledges the change to PostgreSQL, and a way to
 * forget everything when changes may have been missed.
 */
export interface ChangeStreamCache {
  /**
   * invalidate() that resolves only once the shared cache confirmed it and rejects otherwise,
   * with no retry list of its own: the caller replays the change instead.
   */
  invalidateConfirmed(what: Invalidation): Promise<void>
  /** Removes every entry on every instance (the shared tier, and each instance's L1 through the bus). */
  flushAll(): Promise<void>
}

export function isChangeStreamCache (cache: object): cache is ChangeStreamCache {
  const c = cache as Partial<ChangeStreamCache>
  return typeof c.invalidateConfirmed === 'function' && typeof c.flushAll === 'function'
}

/** Glob characters of SCAN's MATCH, escaped so a prefix matches only itself. */
function globEscape (text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`)
}

/**
 * Deletes every key that starts with prefix (entries, leases, tag sets, fences), SCAN by SCAN,
 * with UNLINK so Redis frees them off its main thread. Not atomic: a key written during the scan
 * may survive, which is right for a cache, since it was written after the flush began. On Redis
 * Cluster this covers the node the client talks to only.
 */
export async function deleteByPrefix (redis: Redis, prefix: string): Promise<number> {
  let cursor = '0'
  let deleted = 0
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 1000)
    if (keys.length > 0) deleted += await redis.unlink(...keys)
    cursor = next
  } while (cursor !== '0')
  return deleted
}
