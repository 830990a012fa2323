import { adapterLog } from '../runtime/log.js'
import { cacheLeases } from '../runtime/metrics.js'
import type { CacheSetOptions, LoadContext, WritePosition } from '../runtime/ports.js'
import type { StoredEntry } from './cache-entry.js'

/**
 * fresh: a fresh entry. granted: this caller holds the lease and loads (an entry, if any, is
 * stale). busy: another caller, on any instance, holds it. unavailable: the store cannot answer
 * or will not cache this key now (breaker open, tag full): load without caching.
 */
export type LookupState = 'fresh' | 'granted' | 'busy' | 'unavailable'

export interface Lookup<T> {
  readonly state: LookupState
  readonly entry?: StoredEntry<T> | undefined
  /** The lease's token when granted. */
  readonly token?: string | undefined
  /** A recent write invalidated the key or a tag: the load reads at or after this position. */
  readonly after?: WritePosition | undefined
}

/** A shared store with leases (Facebook memcache's scheme): what loadWithLease needs. */
export interface LeasedStore {
  /** Looks the key up and, when it is missing or stale, asks for its lease (tags are registered first). */
  lookup<T>(key: string, tags: readonly string[], ttlSeconds: number): Promise<Lookup<T>>
  /** Stores a loaded value if `token` still holds the lease; the stored entry, or undefined when refused. */
  fill<T>(key: string, token: string, value: T, ttlSeconds: number, tags: readonly string[]): Promise<StoredEntry<T> | undefined>
  release(key: string, token: string): Promise<void>
}

export interface Loaded<T> {
  readonly value: T
  /** The entry now cached (undefined: nothing was stored, e.g. a lease lost to a delete). */
  readonly entry?: StoredEntry<T> | undefined
  /** Served from the cache (fresh, or stale within its grace) rather than loaded. */
  readonly hit?: boolean
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * Cache-aside across instances. The first miss on a key gets its lease and loads; concurrent
 * misses anywhere get the stale value when there is one, or wait up to `waitMs` for the loader's
 * value, then load without caching. A loaded value is stored only while its lease is valid: a
 * delete in the meantime voids the lease, so a value read before a write cannot be cached after it.
 * A stale entry whose lease this caller gets is returned at once and refreshed in the background.
 */
export async function loadWithLease<T> (store: LeasedStore, key: string, ttlSeconds: number, load: (context: LoadContext) => Promise<T>, options: CacheSetOptions, waitMs: number): Promise<Loaded<T>> {
  const started = Date.now()
  let pause = 5
  for (;;) {
    const found = await store.lookup<T>(key, options.tags ?? [], ttlSeconds)
    if (found.state === 'fresh' && found.entry !== undefined) return { value: found.entry.value, entry: found.entry, hit: true }
    if (found.state === 'granted' && found.token !== undefined) {
      const token = found.token
      if (found.entry === undefined) return await loadAndFill(store, key, token, ttlSeconds, async () => await load({ after: found.after }), options.tags ?? [])
      cacheLeases.inc({ outcome: 'stale_served' })
      loadAndFill(store, key, token, ttlSeconds, async () => await load({ after: found.after }), options.tags ?? []).catch((err: unknown) => {
        adapterLog.warn({ err, key }, 'cache refresh failed; the stale value is served until its grace ends')
      })
      return { value: found.entry.value, entry: found.entry, hit: true }
    }
    if (found.state === 'busy') {
      if (found.entry !== undefined) {
        cacheLeases.inc({ outcome: 'stale_served' })
        return { value: found.entry.value, entry: found.entry, hit: true }
      }
      if (Date.now() - started < waitMs) {
        await sleep(pause)
        pause = Math.min(pause * 2, 50)
        continue
      }
      cacheLeases.inc({ outcome: 'wait_expired' })
    }
    return { value: await load({ after: found.after }) }
  }
}

async function loadAndFill<T> (store: LeasedStore, key: string, token: string, ttlSeconds: number, load: () => Promise<T>, tags: readonly string[]): Promise<Loaded<T>> {
  let value: T
  try {
    value = await load()
  } catch (err) {
    await store.release(key, token)
    throw err
  }
  if (value === undefined) {
    await store.release(key, token)
    return { value }
  }
  const entry = await store.fill(key, token, value, ttlSeconds, tags)
  cacheLeases.inc({ outcome: entry === undefined ? 'refused' : 'filled' })
  return { value, entry }
}
