/**
 * A cached value with its two expiries: fresh until its TTL ends, then usable as stale for a
 * grace period (stale-while-revalidate: served while one loader refreshes it, or while the
 * database cannot answer), then gone.
 */
export interface StoredEntry<T = unknown> {
  readonly value: T
  /** Epoch ms: until then the value is fresh. */
  readonly freshUntil: number
  /** Epoch ms: until then a stale value may still be served (freshUntil + grace). */
  readonly staleUntil: number
  /** The tags it was stored with, so another tier can index it under them. */
  readonly tags?: readonly string[] | undefined
}

export interface TtlPolicy {
  /** How long past its TTL a value may be served while it is refreshed (0: never). */
  readonly graceSeconds: number
  /** TTLs are shortened by up to this fraction at random, so entries set together do not all expire together. */
  readonly jitter: number
}

export const NO_GRACE: TtlPolicy = { graceSeconds: 0, jitter: 0 }

/** The expiries of an entry set now with `ttlSeconds` under `policy`. */
export function entryTimes (ttlSeconds: number, policy: TtlPolicy, now = Date.now(), random = Math.random): { freshUntil: number, staleUntil: number } {
  const ttlMs = Math.max(1, Math.round(ttlSeconds * 1000 * (1 - policy.jitter * random())))
  const freshUntil = now + ttlMs
  return { freshUntil, staleUntil: freshUntil + policy.graceSeconds * 1000 }
}

/** Digits of the fixed-width freshness prefix of an encoded entry, so a Lua script can read it without JSON. */
const FRESH_DIGITS = 15

/** `<freshUntil, 15 digits>|<JSON [value, tags]>`: what Redis stores. */
export function encodeEntry (value: unknown, freshUntil: number, tags: readonly string[] = []): string {
  return `${String(Math.floor(freshUntil)).padStart(FRESH_DIGITS, '0')}|${JSON.stringify([value, tags])}`
}

/** The value and freshness of what encodeEntry stored, or undefined for anything else (e.g. an entry of an older format). */
export function decodeEntry<T> (raw: string, staleUntil: number): StoredEntry<T> | undefined {
  if (raw.length <= FRESH_DIGITS || raw[FRESH_DIGITS] !== '|') return undefined
  const freshUntil = Number(raw.slice(0, FRESH_DIGITS))
  if (!Number.isFinite(freshUntil)) return undefined
  const parsed: unknown = JSON.parse(raw.slice(FRESH_DIGITS + 1))
  if (!Array.isArray(parsed) || parsed.length !== 2 || !Array.isArray(parsed[1])) return undefined
  return { value: parsed[0] as T, freshUntil, staleUntil, tags: (parsed[1] as unknown[]).map(String) }
}
