import { Redis } from 'ioredis'
import type { SessionStore } from './store.js'

/** Sessions in Redis, one hash per session, TTL refreshed on every write. */
export class RedisSessionStore implements SessionStore {
  readonly #redis: Redis
  readonly #ttlSeconds: number

  constructor (url: string, ttlSeconds: number) {
    this.#redis = new Redis(url, { maxRetriesPerRequest: 2, enableAutoPipelining: true })
    this.#redis.on('error', () => {})
    this.#ttlSeconds = ttlSeconds
  }

  #key (id: string): string { return `sess:${id}` }

  async getField (id: string, field: string): Promise<string | undefined> {
    return await this.#redis.hget(this.#key(id), field) ?? undefined
  }

  async getAll (id: string): Promise<Record<string, string>> {
    return await this.#redis.hgetall(this.#key(id))
  }

  async setField (id: string, field: string, value: string): Promise<void> {
    await this.#redis.multi().hset(this.#key(id), field, value).expire(this.#key(id), this.#ttlSeconds).exec()
  }

  async incrementField (id: string, field: string, by: number): Promise<number> {
    const results = await this.#redis.multi().hincrby(this.#key(id), field, by).expire(this.#key(id), this.#ttlSeconds).exec()
    const [err, value] = results?.[0] ?? [new Error('no reply'), null]
    if (err !== null) throw err
    return Number(value)
  }

  async deleteFields (id: string, fields: string[]): Promise<void> {
    if (fields.length > 0) await this.#redis.hdel(this.#key(id), ...fields)
  }

  async rename (oldId: string, newId: string): Promise<void> {
    try {
      await this.#redis.rename(this.#key(oldId), this.#key(newId))
    } catch (err) {
      // RENAME of a key that does not exist fails; an empty session has nothing to move.
      if (!String((err as Error).message).includes('no such key')) throw err
    }
  }

  async destroy (id: string): Promise<void> {
    await this.#redis.del(this.#key(id))
  }

  async close (): Promise<void> {
    await this.#redis.quit().catch(() => { this.#redis.disconnect() })
  }
}
