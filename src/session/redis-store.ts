import type { Redis } from 'ioredis'
import { OutgrowError } from '../errors/index.js'
import type { DependencyHealth, DependencyState, ReportsDependencies } from '../runtime/dependencies.js'
import { callRedis, createFailFastRedis, type RedisTarget } from '../runtime/redis-client.js'
import type { SessionStore, WriteOptions } from './store.js'

// HSET and HINCRBY create a missing hash, so a late write would resurrect a destroyed session:
// the existence check and the write run as one script. ARGV: create (0/1), ttl, field, value.
const WRITE_IF_EXISTS = `
if ARGV[1] == '0' and redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1`
const INCREMENT_IF_EXISTS = `
if ARGV[1] == '0' and redis.call('EXISTS', KEYS[1]) == 0 then return false end
local value = redis.call('HINCRBY', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return value`

type ScriptedRedis = Redis & {
  sessionWrite: (key: string, create: number, ttl: number, field: string, value: string) => Promise<number | null>
  sessionIncrement: (key: string, create: number, ttl: number, field: string, by: number) => Promise<number | null>
  sessionMax: (key: string, field: string, value: string, ttl: number, create: number) => Promise<string | null>
}

/**
 * KEYS[1] hash, ARGV field, value, ttl, create (0/1): keeps the byte-wise greater of the field and
 * value, in an existing session only unless create. Compared byte by byte, since Lua's `<` on
 * strings follows the server's locale.
 */
const MAX_FIELD_SCRIPT = `
if ARGV[4] == '0' and redis.call('EXISTS', KEYS[1]) == 0 then return false end
local current = redis.call('HGET', KEYS[1], ARGV[1])
local value = ARGV[2]
local function less (a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
if not current or less(current, value) then
  redis.call('HSET', KEYS[1], ARGV[1], value)
  current = value
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return current`

/** Replicas that must hold a session write before it is acknowledged, and how long to wait for them. */
export interface ReplicaAcks {
  readonly replicas: number
  readonly timeoutMs: number
}

/**
 * Sessions in Redis, one hash per session, TTL refreshed on every write. While Redis is
 * unreachable every operation fails fast with OUTGROW_DEPENDENCY_UNAVAILABLE ("session store
 * (redis) unavailable"); requests that never touch their session are unaffected.
 *
 * With replicaAcks (a Redis with replicas and Sentinel), every write is followed by
 * `WAIT replicas timeoutMs` on the same connection, and acknowledged only when enough replicas
 * have it: the replica Sentinel promotes after a master kill then holds every acknowledged
 * session. A write that misses them fails with the same retryable 503; it may still be on the
 * master (Redis has no rollback), so a retry must be safe, as every session write here is.
 */
export class RedisSessionStore implements SessionStore, ReportsDependencies {
  readonly #redis: ScriptedRedis
  readonly #health: DependencyHealth
  readonly #ttlSeconds: number
  readonly #replicaAcks: ReplicaAcks | undefined

  constructor (target: RedisTarget, ttlSeconds: number, replicaAcks?: ReplicaAcks) {
    const { redis, health } = createFailFastRedis(target, 'sessions')
    redis.defineCommand('sessionWrite', { numberOfKeys: 1, lua: WRITE_IF_EXISTS })
    redis.defineCommand('sessionIncrement', { numberOfKeys: 1, lua: INCREMENT_IF_EXISTS })
    // EVALSHA, not EVAL: the script's text is not sent (and hashed by Redis) on every write.
    redis.defineCommand('sessionMax', { numberOfKeys: 1, lua: MAX_FIELD_SCRIPT })
    this.#redis = redis as ScriptedRedis
    this.#health = health
    this.#ttlSeconds = ttlSeconds
    this.#replicaAcks = replicaAcks
  }

  #key (id: string): string { return `sess:${id}` }

  async #call<T> (operation: (redis: ScriptedRedis) => Promise<T>): Promise<T> {
    return await callRedis(this.#health, 'session store', async () => await operation(this.#redis))
  }

  /** A write, acknowledged once the replicas asked for have it (see replicaAcks). */
  async #write<T> (operation: (redis: ScriptedRedis) => Promise<T>): Promise<T> {
    const acks = this.#replicaAcks
    if (acks === undefined) return await this.#call(operation)
    return await this.#call(async (r) => {
      const [result, replicated] = await Promise.all([operation(r), r.wait(acks.replicas, acks.timeoutMs)])
      if (replicated < acks.replicas) {
        throw new OutgrowError('OUTGROW_DEPENDENCY_UNAVAILABLE', `session store (redis) unavailable: the write reached ${replicated} of ${acks.replicas} replicas within ${acks.timeoutMs} ms`, { dependency: 'session store' })
      }
      return result
    })
  }

  async getField (id: string, field: string): Promise<string | undefined> {
    return await this.#call(async (r) => await r.hget(this.#key(id), field)) ?? undefined
  }

  async getAll (id: string): Promise<Record<string, string>> {
    return await this.#call(async (r) => await r.hgetall(this.#key(id)))
  }

  async setField (id: string, field: string, value: string, options?: WriteOptions): Promise<boolean> {
    const written = await this.#write(async (r) => await r.sessionWrite(this.#key(id), options?.create === true ? 1 : 0, this.#ttlSeconds, field, value))
    return written !== null
  }

  async incrementField (id: string, field: string, by: number, options?: WriteOptions): Promise<number | undefined> {
    const value = await this.#write(async (r) => await r.sessionIncrement(this.#key(id), options?.create === true ? 1 : 0, this.#ttlSeconds, field, by))
    return value === null ? undefined : Number(value)
  }

  async maxField (id: string, field: string, value: string, options?: WriteOptions): Promise<string | undefined> {
    const held = await this.#write(async (r) => await r.sessionMax(this.#key(id), field, value, this.#ttlSeconds, options?.create === true ? 1 : 0))
    // The script answers the field's value, or nil (null here) when the session does not exist.
    return typeof held === 'string' ? held : undefined
  }

  async deleteFields (id: string, fields: string[]): Promise<void> {
    if (fields.length > 0) await this.#write(async (r) => await r.hdel(this.#key(id), ...fields))
  }

  async rename (oldId: string, newId: string): Promise<void> {
    try {
      await this.#write(async (r) => await r.rename(this.#key(oldId), this.#key(newId)))
    } catch (err) {
      // RENAME of a key that does not exist fails; an empty session has nothing to move.
      if (!String((err as Error).message).includes('no such key')) throw err
    }
  }

  async destroy (id: string): Promise<void> {
    await this.#write(async (r) => await r.del(this.#key(id)))
  }

  async dependencyStates (): Promise<{ sessions: DependencyState }> {
    return { sessions: await this.#health.current() }
  }

  async close (): Promise<void> {
    await this.#redis.quit().catch(() => { this.#redis.disconnect() })
  }
}
