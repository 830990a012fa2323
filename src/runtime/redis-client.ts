import { Redis } from 'ioredis'
import { OutgrowError } from '../errors/index.js'
import { isRedisConnectionError } from './connection-errors.js'
import { DependencyHealth } from './dependencies.js'

/** A command waits at most this long for Redis, connected or not. */
export const REDIS_COMMAND_TIMEOUT_MS = 1000

/**
 * An ioredis client that fails fast while Redis is away, plus the health of that Redis.
 *
 * ioredis' defaults queue commands while it reconnects (20 retries each), so a request could hang
 * for as long as Redis is down. Here a command is retried at most once, never waits longer than
 * REDIS_COMMAND_TIMEOUT_MS, and — once the first connection is made — fails at once while there is
 * no connection. Before the first connection commands do wait (bounded by the timeout), so a
 * process started just before Redis does not fail its first requests. ioredis keeps reconnecting
 * in the background and commands work again as soon as it is back.
 */
export function createFailFastRedis (url: string, dependency: string): { redis: Redis, health: DependencyHealth } {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    enableAutoPipelining: true,
    // Back off to at most 1 s, so Redis is found again within a second of its return.
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  })
  // ioredis reads this option per command, so switching it once connected takes effect at once.
  redis.once('ready', () => { redis.options.enableOfflineQueue = false })
  const health = new DependencyHealth(dependency, async () => {
    if (redis.status !== 'ready') throw new Error(`redis connection is ${redis.status}`)
  })
  redis.on('ready', () => { health.markUp() })
  // Fires only for a lost connection, not for our own quit().
  redis.on('reconnecting', () => { health.markDown() })
  redis.on('error', (err) => { if (isRedisConnectionError(err)) health.markDown(err) })
  return { redis, health }
}

/**
 * Runs one Redis operation of `part`; a connection-level failure becomes a retryable 503 that
 * names the part (e.g. "session store (redis) unavailable"). Other errors pass through.
 */
export async function callRedis<T> (health: DependencyHealth, part: string, operation: () => Promise<T>): Promise<T> {
  try {
    const result = await operation()
    health.markUp()
    return result
  } catch (err) {
    if (!isRedisConnectionError(err)) throw err
    health.markDown(err)
    throw new OutgrowError('OUTGROW_DEPENDENCY_UNAVAILABLE', `${part} (redis) unavailable`, { dependency: part }, { cause: err })
  }
}
