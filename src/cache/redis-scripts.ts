/**
 * The cache's Redis keys and Lua scripts. Every script touches only the keys it is given
 * (KEYS[…]), and the keys one script is given share a hash slot: an entry's key and its lease's
 * key carry the same `{hash tag}`, so the scripts run unchanged on Redis Cluster. A tag's set
 * lives in its own slot and is only ever touched by scripts given that one key.
 */

/** An entry's key: the app's key inside a hash tag, so its lease lands in the same slot. */
export const entryKey = (prefix: string, key: string): string => `${prefix}{${key}}`
/** The key of the lease on an entry (same hash slot as the entry). */
export const leaseKey = (prefix: string, key: string): string => `${entryKey(prefix, key)}:lease`
/** The write fence of an entry: the position its next loads must read at or after (same slot). */
export const entryFenceKey = (prefix: string, key: string): string => `${entryKey(prefix, key)}:after`
/** A tag's set of app keys. */
export const tagKey = (prefix: string, tag: string): string => `${prefix}tag:{${tag}}`
/** A tag's write fence (same slot as its set). */
export const tagFenceKey = (prefix: string, tag: string): string => `${tagKey(prefix, tag)}:after`

/**
 * Looks an entry up and, when it is missing or stale, asks for the lease to load it.
 * KEYS: entry, lease, fence. ARGV: now (epoch ms), lease token ('' = do not ask), lease ms.
 * Returns [encoded entry or '', its PTTL, state, fence or '']: state 0 = fresh (or no lease
 * asked), 1 = lease granted to this token, 2 = someone else holds the lease.
 */
export const LOOKUP = `
local raw = redis.call('GET', KEYS[1])
local pttl = 0
if raw then
  pttl = redis.call('PTTL', KEYS[1])
  if tonumber(string.sub(raw, 1, 15)) > tonumber(ARGV[1]) then return {raw, pttl, 0, ''} end
else
  raw = ''
end
if ARGV[2] == '' then return {raw, pttl, 0, ''} end
local fence = redis.call('GET', KEYS[3]) or ''
if redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3], 'NX') then return {raw, pttl, 1, fence} end
return {raw, pttl, 2, fence}`

/**
 * Stores a loaded value only if the loader still holds its lease: a delete since the lease was
 * granted removed it, so a value loaded before that write is refused.
 * KEYS: entry, lease. ARGV: token, encoded entry, PX. Returns 1 when stored, 0 when refused.
 */
export const FILL = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[2])
return 1`

/** Gives a lease back (a failed load). KEYS: lease. ARGV: token. */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

/**
 * Adds a key to a tag's set unless the set already holds `max` keys (a bound: tags of keys
 * built from user input must not grow without end), and keeps the set at least `seconds` alive.
 * KEYS: tag, tag fence. ARGV: app key, max, seconds. Returns [1 when the key is in the set,
 * 0 when it was full; the tag's write fence or ''].
 */
export const TAG_ADD = `
local fence = redis.call('GET', KEYS[2]) or ''
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then
  if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return {0, fence} end
  redis.call('SADD', KEYS[1], ARGV[1])
end
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return {1, fence}`

/**
 * Raises a write fence to a position, never lowers it (fixed-width positions: string order).
 * KEYS: fence. ARGV: position, PX.
 */
export const FENCE = `
local old = redis.call('GET', KEYS[1])
if (not old) or ARGV[1] > old then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`

/** The version of an entry's row as the last write-through or versioned invalidation gave it (same slot). */
export const entryVersionKey = (prefix: string, key: string): string => `${entryKey(prefix, key)}:v`

/**
 * Write-through: stores an entry only if its version is newer than the key's (fixed-width
 * versions: string order), and voids the lease, so a loader that read the row before this write
 * cannot store its older value after it. Raises the key's write fence too when given one.
 * KEYS: entry, lease, version, fence. ARGV: version, encoded entry, entry PX, version PX,
 * fence position ('' = none), fence PX. Returns 1 when stored, 0 when an equal or newer version was there.
 */
export const SET_VERSIONED = `
local current = redis.call('GET', KEYS[3])
if current and current >= ARGV[1] then return 0 end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[4])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[2])
if ARGV[5] ~= '' then
  local fence = redis.call('GET', KEYS[4])
  if (not fence) or ARGV[5] > fence then redis.call('SET', KEYS[4], ARGV[5], 'PX', ARGV[6]) end
end
return 1`

/**
 * Raises a key's version, never lowers it: an invalidation that knows the version its write
 * gave the row. KEYS: version. ARGV: version, PX.
 */
export const RAISE_VERSION = `
local current = redis.call('GET', KEYS[1])
if (not current) or ARGV[1] > current then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`
