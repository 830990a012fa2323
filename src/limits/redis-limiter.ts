import type { Redis } from 'ioredis'
import type { DependencyHealth } from '../runtime/dependencies.js'
import type { AttemptDecision, AttemptLimit, RateLimiter } from '../runtime/ports.js'
import { callRedis, createFailFastRedis, type RedisTarget } from '../runtime/redis-client.js'
import { decide } from './decision.js'

// Count and start the window in one atomic step, the window kept by Redis's own expiry, so every
// instance sees the same counter and no host's clock matters.
// KEYS[1]: the counter. ARGV[1]: window in ms.
const HIT = `
local count = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}`

// Only an existing, positive counter goes down: a refund never creates a key without a window.
const REFUND = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return 0`

type ScriptedRedis = Redis & {
  outgrowHit: (key: string, windowMs: number) => Promise<[number, number]>
  outgrowRefund: (key: string) => Promise<number>
}

/** Attempt counters in Redis (the sessions' Redis): shared by every instance of levels 3–4. */
export class RedisRateLimiter implements RateLimiter {
  readonly #redis: ScriptedRedis
  readonly #health: DependencyHealth

  constructor (target: RedisTarget) {
    const { redis, health } = createFailFastRedis(target, 'rate limits')
    redis.defineCommand('outgrowHit', { numberOfKeys: 1, lua: HIT })
    redis.defineCommand('outgrowRefund', { numberOfKeys: 1, lua: REFUND })
    this.#redis = redis as ScriptedRedis
    this.#health = health
  }

  #key (key: string): string { return `limit:${key}` }

  async #call<T> (operation: (redis: ScriptedRedis) => Promise<T>): Promise<T> {
    return await callRedis(this.#health, 'rate limiter', async () => await operation(this.#redis))
  }

  async hit (key: string, limit: AttemptLimit): Promise<AttemptDecision> {
    const [count, remainingMs] = await this.#call(async (r) => await r.outgrowHit(this.#key(key), limit.windowSeconds * 1000))
    return decide(count, remainingMs, limit)
  }

  async refund (key: string): Promise<void> {
    await this.#call(async (r) => await r.outgrowRefund(this.#key(key)))
  }

  async reset (key: string): Promise<void> {
    await this.#call(async (r) => await r.del(this.#key(key)))
  }

  async close (): Promise<void> {
    await this.#redis.quit().catch(() => { this.#redis.disconnect() })
  }
}
