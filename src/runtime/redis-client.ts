import { Redis, type RedisOptions } from 'ioredis'
import { OutgrowError } from '../errors/index.js'
import { isRedisConnectionError } from './connection-errors.js'
import { DependencyHealth } from './dependencies.js'

/** A command waits at most this long for Redis, connected or not. */
export const REDIS_COMMAND_TIMEOUT_MS = 1000

/**
 * What a Redis connection is for; each purpose has its own retry and queueing behaviour.
 *
 * - `command`: request-path commands (cache, sessions, rate limits, enqueueing jobs). A command is
 *   retried at most once and never waits longer than REDIS_COMMAND_TIMEOUT_MS; once the first
 *   connection is made, commands fail at once while there is none, instead of queueing. Before it,
 *   they do wait (bounded by the timeout), so a process started just before Redis does not fail
 *   its first requests. Reconnects back off to at most 1 s, so Redis is found again within a
 *   second of its return.
 * - `blocking`: BullMQ workers and other blocking commands (BRPOP, XREAD BLOCK). Commands wait for
 *   the connection without limit, as BullMQ requires (`maxRetriesPerRequest: null`).
 * - `subscriber`: a connection in subscriber mode. ioredis' defaults: it reconnects by itself and
 *   subscribes again to what it was subscribed to.
 * - `probe`: one connection attempt and no retry, to ask once whether a server answers.
 */
export type RedisPurpose = 'command' | 'blocking' | 'subscriber' | 'probe'

const PURPOSE_OPTIONS: Readonly<Record<RedisPurpose, RedisOptions>> = {
  command: {
    maxRetriesPerRequest: 1,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  },
  blocking: { maxRetriesPerRequest: null },
  subscriber: {},
  // Bounded: a probe that reaches something other than a Redis must not wait for an answer forever.
  probe: { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000, commandTimeout: 2000 },
}

/** Redis Sentinel: where the Sentinels are and the name of the master group they watch. */
export interface RedisSentinelOptions {
  /** The master group's name in the Sentinels' configuration (`sentinel monitor <name> …`). */
  readonly masterName: string
  readonly addresses: ReadonlyArray<{ readonly host: string, readonly port: number }>
}

/**
 * Where a Redis is: a URL, or the Sentinels that know its current master and the master group's
 * name (with an optional URL for user, password, database and TLS), as process configs give it.
 */
export type RedisTarget = string | {
  readonly url?: string | undefined
  readonly sentinels: ReadonlyArray<{ readonly host: string, readonly port: number }>
  readonly name: string
}

/** The target for messages and logs, without a password. */
export function describeRedisTarget (target: RedisTarget): string {
  if (typeof target === 'string') return redactRedisUrl(target)
  return `master ${target.name} via sentinels ${target.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`
}

export interface RedisClientOptions {
  readonly purpose: RedisPurpose
  /**
   * Find the master through these Sentinels instead of at the URL's host and port; the URL still
   * gives the master's user, password, database and TLS. The Sentinels themselves are asked
   * without authentication or TLS. A target with sentinels sets this.
   */
  readonly sentinels?: RedisSentinelOptions
  /** ioredis options applied over the purpose's, for a caller with needs of its own. */
  readonly overrides?: RedisOptions
}

/**
 * The connection part of ioredis' options from a Redis URL: `redis://[user[:password]@]host[:port][/db]`,
 * or `rediss://…` for TLS (the server's certificate is verified against the host name). User and
 * password may be percent-encoded. Anything else is refused with OUTGROW_CONFIG_INVALID.
 */
export function redisConnectionOptions (url: string): RedisOptions {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw invalidUrl(url, 'not a URL')
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw invalidUrl(url, 'the scheme must be redis:// or rediss://')
  if (parsed.hostname === '') throw invalidUrl(url, 'no host')
  const path = parsed.pathname.replace(/^\//, '')
  if (path !== '' && !/^\d+$/.test(path)) throw invalidUrl(url, `the path must be a database number, not /${path}`)
  if (parsed.search !== '') throw invalidUrl(url, 'query parameters are not supported')
  return {
    // The URL parser keeps the brackets of an IPv6 address; sockets want it bare.
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    db: path === '' ? 0 : Number(path),
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  }
}

function invalidUrl (url: string, why: string): OutgrowError {
  return new OutgrowError('OUTGROW_CONFIG_INVALID', `invalid Redis URL ${redactRedisUrl(url)}: ${why}`, { field: 'url' })
}

/** The URL without its password, for messages and logs. */
export function redactRedisUrl (url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparseable URL)'
  }
}

/**
 * After a failover a client may still be connected to the old master, now a replica: writes fail
 * with READONLY. Reconnecting (through the Sentinels) finds the new master; 2 sends the failed
 * command again once connected.
 */
export const reconnectOnReadOnly = (err: Error): 2 | false => err.message.startsWith('READONLY') ? 2 : false

/** Options shared by every client found through Sentinels. */
const SENTINEL_OPTIONS: RedisOptions = {
  // No subscription to +switch-master (ioredis' failoverDetector leaves errors of its Sentinel
  // connections unhandled): a killed master drops its clients, and Sentinel kills the clients of
  // a master it demotes, so every client reconnects and asks the Sentinels anyway.
  failoverDetector: false,
  // The Sentinels are asked again quickly when none answers; the set is fixed by the config.
  sentinelRetryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  updateSentinels: false,
}

/**
 * The one place Redis clients are made: the connection from the URL (auth, database, TLS) or
 * from Sentinels, and the retry behaviour of the purpose. Connection errors never go unheard:
 * they fail the commands that meet them and the client reconnects by itself (a caller that
 * tracks health listens to 'error' too). Every client reconnects on READONLY, so one left on a
 * demoted master finds the new one.
 */
export function createRedisClient (target: RedisTarget, options: RedisClientOptions): Redis {
  const url = typeof target === 'string' ? target : target.url ?? 'redis://127.0.0.1'
  const sentinels = typeof target === 'string' ? options.sentinels : { masterName: target.name, addresses: target.sentinels }
  const { host, port, ...credentials } = redisConnectionOptions(url)
  const connection: RedisOptions = sentinels === undefined
    ? { host, port, ...credentials }
    : { ...credentials, ...SENTINEL_OPTIONS, name: sentinels.masterName, sentinels: sentinels.addresses.map((a) => ({ host: a.host, port: a.port })) }
  const redis = new Redis({ ...connection, reconnectOnError: reconnectOnReadOnly, ...PURPOSE_OPTIONS[options.purpose], ...options.overrides })
  redis.on('error', () => { /* surfaces as failed commands; ioredis reconnects by itself */ })
  if (options.purpose === 'command') {
    // ioredis reads this option per command, so switching it once connected takes effect at once.
    redis.once('ready', () => { redis.options.enableOfflineQueue = false })
  }
  return redis
}

/**
 * A `command` client (see RedisPurpose) plus the health of that Redis, reported as `dependency`.
 * ioredis' defaults would queue commands while it reconnects (20 retries each), so a request could
 * hang for as long as Redis is down; this one fails fast and works again as soon as Redis is back.
 */
export function createFailFastRedis (target: RedisTarget, dependency: string): { redis: Redis, health: DependencyHealth } {
  const redis = createRedisClient(target, { purpose: 'command' })
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
