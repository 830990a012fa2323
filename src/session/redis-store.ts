import type { Redis } from 'ioredis'
import type { DependencyHealth, DependencyState, ReportsDependencies } from '../runtime/dependencies.js'
import { callRedis, createFailFastRedis } from '../runtime/redis-client.js'
import type { SessionStore } from './store.js'

/**
 * KEYS[1] hash, ARGV field, value, ttl: keeps the byte-wise greater of the field and value.
 * Compared byte by byte, since Lua's `<` on strings follows the server's locale.
 */
const MAX_FIELD_SCRIPT = `
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

/**
 * Sessions in Redis, one hash per session, TTL refreshed on every write. While Redis is
 * unreachable every operation fails fast with OUTGROW_DEPENDENCY_UNAVAILABLE ("session store
 * (redis) unavailable"); requests that never touch their session are unaffected.
 */
export class RedisSessionStore implements SessionStore, ReportsDependencies {
  readonly #redis: Redis
  readonly #health: DependencyHealth
  readonly #ttlSeconds: number

  constructor (url: string, ttlSeconds: number) {
    const { redis, health } = createFailFastRedis(url, 'sessions')
    this.#redis = redis
    this.#health = health
    this.#ttlSeconds = ttlSeconds
  }

  #key (id: string): string { return `sess:${id}` }

  async #call<T> (operation: (redis: Redis) => Promise<T>): Promise<T> {
    return await callRedis(this.#health, 'session store', async () => await operation(this.#redis))
  }

  async getField (id: string, field: string): Promise<string | undefined> {
    return await this.#call(async (r) => await r.hget(this.#key(id), field)) ?? undefined
  }

  async getAll (id: string): Promise<Record<string, string>> {
    return await this.#call(async (r) => await r.hgetall(this.#key(id)))
  }

  async setField (id: string, field: string, value: string): Promise<void> {
    await this.#call(async (r) => await r.multi().hset(this.#key(id), field, value).expire(this.#key(id), this.#ttlSeconds).exec())
  }

  async incrementField (id: string, field: string, by: number): Promise<number> {
    const results = await this.#call(async (r) => await r.multi().hincrby(this.#key(id), field, by).expire(this.#key(id), this.#ttlSeconds).exec())
    const [err, value] = results?.[0] ?? [new Error('no reply'), null]
    if (err !== null) throw err
    return Number(value)
  }

  async maxField (id: string, field: string, value: string): Promise<string> {
    return String(await this.#call(async (r) => await r.eval(MAX_FIELD_SCRIPT, 1, this.#key(id), field, value, this.#ttlSeconds)))
  }

  async deleteFields (id: string, fields: string[]): Promise<void> {
    if (fields.length > 0) await this.#call(async (r) => await r.hdel(this.#key(id), ...fields))
  }

  async rename (oldId: string, newId: string): Promise<void> {
    try {
      await this.#call(async (r) => await r.rename(this.#key(oldId), this.#key(newId)))
    } catch (err) {
      // RENAME of a key that does not exist fails; an empty session has nothing to move.
      if (!String((err as Error).message).includes('no such key')) throw err
    }
  }

  async destroy (id: string): Promise<void> {
    await this.#call(async (r) => await r.del(this.#key(id)))
  }

  async dependencyStates (): Promise<{ sessions: DependencyState }> {
    return { sessions: await this.#health.current() }
  }

  async close (): Promise<void> {
    await this.#redis.quit().catch(() => { this.#redis.disconnect() })
  }
}
