import { LRUCache } from 'lru-cache'
import { OutgrowError } from '../errors/index.js'
import { FENCE_SECONDS } from './write-fences.js'

/** Digits of an encoded version: every safe integer fits, so string order is number order. */
const VERSION_DIGITS = 16

/**
 * How long a key remembers its version at least, past the entry: a write-through that arrives
 * late (a slow request, a retry) must still find the newer version it lost to.
 */
export const VERSION_MIN_SECONDS = FENCE_SECONDS

/** A write-through's version, checked (a non-negative safe integer) and fixed-width for Redis. */
export function encodeVersion (version: unknown, field = 'version'): string {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw new OutgrowError('OUTGROW_VALIDATION', `${field} must be a non-negative safe integer (a row version that every write raises), got ${String(version)}`, { field })
  }
  return String(version).padStart(VERSION_DIGITS, '0')
}

/** Every version of an invalidation's `versions`, checked, keyed like it. */
export function encodeVersions (versions: Readonly<Record<string, number>> | undefined): Map<string, string> {
  const encoded = new Map<string, string>()
  for (const [key, version] of Object.entries(versions ?? {})) encoded.set(key, encodeVersion(version, `versions.${key}`))
  return encoded
}

/**
 * The versions of keys in this process (the memory cache, and the loads it voids): bounded, and
 * each kept at least VERSION_MIN_SECONDS or as long as its entry.
 */
export class LocalVersions {
  readonly #versions: LRUCache<string, string>

  constructor (maxEntries: number) {
    this.#versions = new LRUCache<string, string>({ max: Math.max(1000, maxEntries) })
  }

  /** Raises the key's version to `version` for at least `ttlMs`; false when it already was that or newer. */
  raise (key: string, version: string, ttlMs: number): boolean {
    const current = this.#versions.get(key)
    if (current !== undefined && current >= version) return false
    this.#versions.set(key, version, { ttl: Math.max(ttlMs, VERSION_MIN_SECONDS * 1000) })
    return true
  }

  clear (): void { this.#versions.clear() }
}
