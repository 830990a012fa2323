import type { Redis } from 'ioredis'
import { createRedisClient, type RedisTarget } from '../runtime/redis-client.js'
import { LRUCache } from 'lru-cache'

export interface Decision {
  readonly allowed: boolean
  /** When a refused client may try again. */
  readonly retryAfterMs: number
}

/** Token buckets by key: `rate` tokens per second, at most `burst` stored. */
export interface RateLimitStore {
  take(key: string, rate: number, burst: number): Decision | Promise<Decision>
  close(): Promise<void>
}

/** Buckets in this process (bounded LRU, so a flood of client keys cannot exhaust memory). */
export class LocalRateLimitStore implements RateLimitStore {
  readonly #buckets = new LRUCache<string, { tokens: number, at: number }>({ max: 100_000 })

  take (key: string, rate: number, burst: number, now = performance.now()): Decision {
    let bucket = this.#buckets.get(key)
    if (bucket === undefined) {
      bucket = { tokens: burst, at: now }
      this.#buckets.set(key, bucket)
    } else {
      bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.at) * rate / 1000)
      bucket.at = now
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return { allowed: true, retryAfterMs: 0 }
    }
    return { allowed: false, retryAfterMs: Math.ceil((1 - bucket.tokens) * 1000 / rate) }
  }

  async close (): Promise<void> {
    this.#buckets.clear()
  }
}

// Refill and take in one atomic step, on Redis's clock so every gateway agrees on time.
const TAKE = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then tokens = burst; at = now end
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait}`

/** Buckets in Redis, shared by every gateway process and host that uses the same Redis. */
export class RedisRateLimitStore implements RateLimitStore {
  readonly #redis: Redis

  constructor (target: RedisTarget) {
    this.#redis = createRedisClient(target, { purpose: 'subscriber', overrides: { maxRetriesPerRequest: 1, enableAutoPipelining: true } })
    this.#redis.defineCommand('outgrowTake', { numberOfKeys: 1, lua: TAKE })
  }

  async take (key: string, rate: number, burst: number): Promise<Decision> {
    const [allowed, wait] = await (this.#redis as Redis & { outgrowTake: (key: string, rate: number, burst: number) => Promise<[number, number]> })
      .outgrowTake(`outgrow:ratelimit:${key}`, rate, burst)
    return { allowed: allowed === 1, retryAfterMs: wait }
  }

  async close (): Promise<void> {
    await this.#redis.quit().catch(() => { this.#redis.disconnect() })
  }
}
