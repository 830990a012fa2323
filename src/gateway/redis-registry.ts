import type { Redis } from 'ioredis'
import { createRedisClient, type RedisTarget } from '../runtime/redis-client.js'
import type { RegisteredInstance, RegisterOptions, Registration, Registry } from './registry.js'

/**
 * Reads the member keys it is given and drops from the index the ids whose key has expired, in one
 * atomic step, so an instance that registers meanwhile is never dropped.
 * KEYS[1] the index, KEYS[2..n] the member keys; ARGV[i] the id of KEYS[i + 1].
 */
const LIST_LIVE = `
local live = {}
for i = 2, #KEYS do
  local value = redis.call('GET', KEYS[i])
  if value then live[#live + 1] = value else redis.call('SREM', KEYS[1], ARGV[i - 1]) end
end
return live`

type RedisWithListLive = Redis & { outgrowRegistryListLive: (numberOfKeys: number, ...keysThenIds: string[]) => Promise<string[]> }

/** An instance this registry keeps alive; replaced (not mutated) when the id registers again. */
interface KeptAlive {
  readonly timer: NodeJS.Timeout
  readonly options: RegisterOptions
}

/**
 * Members in Redis, liveness decided by Redis alone (no clock of ours is compared with another
 * host's): one key per instance, `outgrow:registry:<cluster>:member:<id>`, holding its JSON with a
 * PX TTL, and a set of ids that list() reads and prunes. Heartbeats (every TTL/3) only extend a
 * key that still exists, so an admin removal is never undone; the owner is told through onRemoved.
 * An admin removal leaves a tombstone (`…:removed:<id>`, for a minute at least); a key that
 * vanished without one expired while Redis could not be reached (a failover longer than the TTL),
 * and the heartbeat registers the instance again.
 * Changes are published on a channel, and watchers also re-read every second, so a missed message
 * or a crashed instance is noticed within the TTL plus a second.
 */
export class RedisRegistry implements Registry {
  readonly #redis: RedisWithListLive
  readonly #subscriber: Redis
  readonly #prefix: string
  readonly #index: string
  readonly #channel: string
  readonly #ttlMs: number
  readonly #kept = new Map<string, KeptAlive>()

  constructor (target: RedisTarget, cluster: string, ttlMs = 5000) {
    const redis = createRedisClient(target, { purpose: 'subscriber', overrides: { maxRetriesPerRequest: 2 } })
    redis.defineCommand('outgrowRegistryListLive', { lua: LIST_LIVE })
    this.#redis = redis as RedisWithListLive
    this.#subscriber = createRedisClient(target, { purpose: 'subscriber', overrides: { lazyConnect: true } })
    this.#prefix = `outgrow:registry:${cluster}`
    this.#index = `${this.#prefix}:members`
    this.#channel = `${this.#prefix}:changes`
    this.#ttlMs = ttlMs
  }

  #memberKey (id: string): string {
    return `${this.#prefix}:member:${id}`
  }

  #tombstone (id: string): string {
    return `${this.#prefix}:removed:${id}`
  }

  async #write (entry: RegisteredInstance): Promise<void> {
    await this.#redis.multi()
      .set(this.#memberKey(entry.id), JSON.stringify(entry), 'PX', this.#ttlMs)
      .sadd(this.#index, entry.id)
      .del(this.#tombstone(entry.id))
      .exec()
    await this.#redis.publish(this.#channel, entry.id)
  }

  async register (instance: RegisteredInstance, options: RegisterOptions = {}): Promise<Registration> {
    this.#stopKeepingAlive(instance.id)
    const entry: RegisteredInstance = { id: instance.id, url: instance.url, ...(instance.weight === undefined ? {} : { weight: instance.weight }) }
    await this.#write(entry)
    const timer = setInterval(() => { void this.#heartbeat(entry, kept) }, Math.max(1, Math.floor(this.#ttlMs / 3)))
    timer.unref()
    const kept: KeptAlive = { timer, options }
    this.#kept.set(instance.id, kept)
    return {
      instance: entry,
      leave: async () => {
        if (this.#kept.get(instance.id) !== kept) return // removed, or registered anew since
        this.#stopKeepingAlive(instance.id)
        await this.#delete(instance.id)
      },
    }
  }

  /**
   * Extends the TTL of a key that still exists. A missing key with a tombstone means an admin
   * removed it; without one it expired while Redis was unreachable, and it is written again.
   */
  async #heartbeat (entry: RegisteredInstance, kept: KeptAlive): Promise<void> {
    const id = entry.id
    try {
      const extended = await this.#redis.pexpire(this.#memberKey(id), this.#ttlMs)
      if (extended === 1 || this.#kept.get(id) !== kept) return
      if (await this.#redis.exists(this.#tombstone(id)) === 0) {
        await this.#write(entry)
        return
      }
    } catch {
      return // Redis unreachable: try again at the next beat
    }
    if (this.#kept.get(id) !== kept) return
    this.#stopKeepingAlive(id)
    kept.options.onRemoved?.()
  }

  #stopKeepingAlive (id: string): void {
    clearInterval(this.#kept.get(id)?.timer)
    this.#kept.delete(id)
  }

  async #delete (id: string): Promise<void> {
    await this.#redis.multi().del(this.#memberKey(id)).srem(this.#index, id).exec()
    await this.#redis.publish(this.#channel, id)
  }

  /** Removes an instance for everybody; if this registry keeps it alive, its owner is told now. */
  async deregister (id: string): Promise<void> {
    const kept = this.#kept.get(id)
    this.#stopKeepingAlive(id)
    // The tombstone tells the instance's own heartbeats (in another process) it was removed, not expired.
    await this.#redis.set(this.#tombstone(id), '1', 'PX', Math.max(60_000, this.#ttlMs * 3))
    await this.#delete(id)
    kept?.options.onRemoved?.()
  }

  async list (): Promise<RegisteredInstance[]> {
    const ids = await this.#redis.smembers(this.#index)
    if (ids.length === 0) return []
    const values = await this.#redis.outgrowRegistryListLive(1 + ids.length, this.#index, ...ids.map((id) => this.#memberKey(id)), ...ids)
    const live: RegisteredInstance[] = []
    for (const value of values) {
      try {
        live.push(JSON.parse(value) as RegisteredInstance)
      } catch { /* not ours; ignored */ }
    }
    return live.sort((a, b) => a.id.localeCompare(b.id))
  }

  watch (onChange: (instances: RegisteredInstance[]) => void): () => void {
    const refresh = (): void => { void this.list().then(onChange, () => {}) }
    void this.#subscriber.connect().then(async () => { await this.#subscriber.subscribe(this.#channel) }).catch(() => {})
    this.#subscriber.on('message', refresh)
    const poll = setInterval(refresh, 1000)
    poll.unref()
    refresh()
    return () => {
      clearInterval(poll)
      this.#subscriber.off('message', refresh)
    }
  }

  /** Stops the heartbeats without deregistering: entries then expire unless deregistered first. */
  async close (): Promise<void> {
    for (const id of [...this.#kept.keys()]) this.#stopKeepingAlive(id)
    this.#subscriber.disconnect()
    await this.#redis.quit().catch(() => { this.#redis.disconnect() })
  }
}
