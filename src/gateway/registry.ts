import { EventEmitter } from 'node:events'
import { Redis } from 'ioredis'

export interface RegisteredInstance {
  readonly id: string
  readonly url: string
  readonly weight?: number
}

/**
 * Membership: app instances register and deregister at run time; gateways watch. In memory for
 * one process; in Redis so that several gateways on several hosts share it.
 */
export interface Registry {
  register(instance: RegisteredInstance): Promise<void>
  deregister(id: string): Promise<void>
  list(): Promise<RegisteredInstance[]>
  /** Calls back with the full member list whenever it may have changed. */
  watch(onChange: (instances: RegisteredInstance[]) => void): () => void
  close(): Promise<void>
}

export class MemoryRegistry implements Registry {
  readonly #members = new Map<string, RegisteredInstance>()
  readonly #events = new EventEmitter()

  async register (instance: RegisteredInstance): Promise<void> {
    this.#members.set(instance.id, instance)
    this.#events.emit('change', [...this.#members.values()])
  }

  async deregister (id: string): Promise<void> {
    if (this.#members.delete(id)) this.#events.emit('change', [...this.#members.values()])
  }

  async list (): Promise<RegisteredInstance[]> {
    return [...this.#members.values()]
  }

  watch (onChange: (instances: RegisteredInstance[]) => void): () => void {
    this.#events.on('change', onChange)
    return () => { this.#events.off('change', onChange) }
  }

  async close (): Promise<void> {
    this.#events.removeAllListeners()
  }
}

/**
 * Members in a Redis hash (id → instance and its expiry); changes are published on a channel and
 * watchers also re-read every second, so a missed message or a crashed instance whose heartbeat
 * stopped is noticed within a heartbeat TTL.
 */
export class RedisRegistry implements Registry {
  readonly #redis: Redis
  readonly #subscriber: Redis
  readonly #key: string
  readonly #channel: string
  readonly #ttlMs: number
  readonly #heartbeats = new Map<string, NodeJS.Timeout>()

  constructor (url: string, cluster: string, ttlMs = 5000) {
    this.#redis = new Redis(url, { maxRetriesPerRequest: 2 })
    this.#redis.on('error', () => {})
    this.#subscriber = new Redis(url, { lazyConnect: true })
    this.#subscriber.on('error', () => {})
    this.#key = `outgrow:registry:${cluster}`
    this.#channel = `outgrow:registry:${cluster}:changes`
    this.#ttlMs = ttlMs
  }

  async #write (instance: RegisteredInstance): Promise<void> {
    await this.#redis.hset(this.#key, instance.id, JSON.stringify({ ...instance, expiresAt: Date.now() + this.#ttlMs }))
  }

  async register (instance: RegisteredInstance): Promise<void> {
    await this.#write(instance)
    await this.#redis.publish(this.#channel, instance.id)
    clearInterval(this.#heartbeats.get(instance.id))
    const beat = setInterval(() => { void this.#write(instance).catch(() => {}) }, Math.floor(this.#ttlMs / 3))
    beat.unref()
    this.#heartbeats.set(instance.id, beat)
  }

  async deregister (id: string): Promise<void> {
    clearInterval(this.#heartbeats.get(id))
    this.#heartbeats.delete(id)
    await this.#redis.hdel(this.#key, id)
    await this.#redis.publish(this.#channel, id)
  }

  async list (): Promise<RegisteredInstance[]> {
    const all = await this.#redis.hgetall(this.#key)
    const now = Date.now()
    const live: RegisteredInstance[] = []
    for (const raw of Object.values(all)) {
      const entry = JSON.parse(raw) as RegisteredInstance & { expiresAt: number }
      if (entry.expiresAt > now) live.push({ id: entry.id, url: entry.url, ...(entry.weight === undefined ? {} : { weight: entry.weight }) })
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

  async close (): Promise<void> {
    for (const beat of this.#heartbeats.values()) clearInterval(beat)
    this.#subscriber.disconnect()
    await this.#redis.quit().catch(() => { this.#redis.disconnect() })
  }
}
