import type { Redis } from 'ioredis'
import type { ClaimStore } from './idempotent.js'

/** Claims in this process (levels 1–3, tests): gone with the process, as the in-process bus's events are. */
export class MemoryClaimStore implements ClaimStore {
  readonly #entries = new Map<string, { state: 'running' | 'done', until: number }>()

  async claim (key: string, ms: number): Promise<'claimed' | 'done' | 'busy'> {
    const now = Date.now()
    const entry = this.#entries.get(key)
    if (entry !== undefined && entry.until > now) return entry.state === 'done' ? 'done' : 'busy'
    this.#entries.set(key, { state: 'running', until: now + ms })
    return 'claimed'
  }

  async complete (key: string, ttlSeconds: number): Promise<void> {
    this.#entries.set(key, { state: 'done', until: Date.now() + ttlSeconds * 1000 })
  }

  async release (key: string): Promise<void> {
    if (this.#entries.get(key)?.state === 'running') this.#entries.delete(key)
  }
}

/** Releases a claim only while it is still a claim, never a finished mark. */
const RELEASE_SCRIPT = "if redis.call('GET', KEYS[1]) == 'running' then return redis.call('DEL', KEYS[1]) end return 0"

/** Claims in Redis: `SET key running NX PX ms`, then `SET key done EX ttl`; shared by every consumer. */
export class RedisClaimStore implements ClaimStore {
  readonly #redis: Redis
  readonly #prefix: string

  constructor (redis: Redis, prefix = 'processed-events:') {
    this.#redis = redis
    this.#prefix = prefix
  }

  async claim (key: string, ms: number): Promise<'claimed' | 'done' | 'busy'> {
    const k = this.#prefix + key
    if (await this.#redis.set(k, 'running', 'PX', ms, 'NX') === 'OK') return 'claimed'
    return await this.#redis.get(k) === 'done' ? 'done' : 'busy'
  }

  async complete (key: string, ttlSeconds: number): Promise<void> {
    await this.#redis.set(this.#prefix + key, 'done', 'EX', ttlSeconds)
  }

  async release (key: string): Promise<void> {
    await this.#redis.eval(RELEASE_SCRIPT, 1, this.#prefix + key)
  }
}
