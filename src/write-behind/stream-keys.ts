/**
 * Redis keys and scripts of write-behind. A partition's stream, its owner lease and its term
 * counter carry the same `{hash tag}`, so every script (given only its keys) runs on Redis Cluster.
 */

/** The consumer group every partition is read with. */
export const GROUP = 'apply'

export interface PartitionKeys {
  readonly stream: string
  /** Who consumes the partition now (a lease: SET NX PX, renewed while consuming). */
  readonly owner: string
  /** How many times the partition changed owner: each owner's term, for fencing in the database. */
  readonly term: string
}

export function partitionKeys (prefix: string, stream: string, partition: number): PartitionKeys {
  const base = `${prefix}{${stream}:${partition}}`
  return { stream: base, owner: `${base}:owner`, term: `${base}:term` }
}

/**
 * Appends unless the partition already holds `max` writes (a bound on Redis memory while
 * consumers are down). KEYS: stream. ARGV: max, key, payload. Returns the entry id, or false.
 */
export const APPEND = `
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
return redis.call('XADD', KEYS[1], '*', 'k', ARGV[2], 'p', ARGV[3])`

/** Takes the partition if no one holds it. KEYS: owner, term. ARGV: consumer, PX. Returns the new term, or 0. */
export const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return redis.call('INCR', KEYS[2]) end
return 0`

/** Extends the lease if this consumer still holds it. KEYS: owner. ARGV: consumer, PX. Returns 1 or 0. */
export const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`

/** Gives the partition up (a clean stop). KEYS: owner. ARGV: consumer. */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`
