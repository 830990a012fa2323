import type { Redis } from 'ioredis'
import { adapterLog } from '../runtime/log.js'
import { cacheBusMessages } from '../runtime/metrics.js'
import { createRedisClient, type RedisTarget } from '../runtime/redis-client.js'

/** One invalidation, as published: keys deleted or set, tags invalidated, by which instance. */
export interface BusMessage {
  readonly origin: string
  readonly keys: readonly string[]
  readonly tags: readonly string[]
  /** Everything under the prefix was deleted: drop the whole L1 (a change-stream consumer's full flush). */
  readonly all?: boolean
}

export function encodeBusMessage (message: BusMessage): string {
  return JSON.stringify(message)
}

function decodeBusMessage (raw: string): BusMessage | undefined {
  try {
    const parsed = JSON.parse(raw) as Partial<BusMessage>
    if (typeof parsed.origin !== 'string' || !Array.isArray(parsed.keys) || !Array.isArray(parsed.tags)) return undefined
    return { origin: parsed.origin, keys: parsed.keys.map(String), tags: parsed.tags.map(String), ...(parsed.all === true ? { all: true } : {}) }
  } catch {
    return undefined
  }
}

export interface BusHandlers {
  /** Another instance invalidated these keys and tags (its Redis delete is already done). */
  readonly onInvalidate: (keys: readonly string[], tags: readonly string[]) => void
  /** The subscription was lost: messages may have been missed. */
  readonly onLost: () => void
  /** Another instance deleted every entry of the cache. */
  readonly onFlushAll?: () => void
}

/**
 * The cache's invalidation bus: Redis pub/sub on one channel. The publishing side is the Redis
 * cache itself (the PUBLISH follows its deletes on the same connection, so a message never
 * arrives before the delete it announces). Pub/sub keeps no messages: while this subscriber is
 * not connected it misses some, so `live` is false from the moment the connection is lost until
 * it has subscribed again, and onLost tells the owner to forget what it holds.
 */
export class InvalidationBus {
  readonly #subscriber: Redis
  readonly #channel: string
  readonly #origin: string
  readonly #handlers: BusHandlers
  #live = false
  #waiting: Array<() => void> = []

  constructor (target: RedisTarget, channel: string, origin: string, handlers: BusHandlers) {
    this.#channel = channel
    this.#origin = origin
    this.#handlers = handlers
    this.#subscriber = createRedisClient(target, { purpose: 'subscriber' })
    this.#subscriber.on('message', (channelName: string, raw: string) => { this.#received(channelName, raw) })
    this.#subscriber.on('ready', () => { void this.#subscribe() })
    for (const event of ['close', 'reconnecting', 'end']) this.#subscriber.on(event, () => { this.#lost() })
  }

  /** Whether every invalidation published now will reach this instance. */
  get live (): boolean { return this.#live }

  /** Resolves once subscribed (for start-up and tests). */
  async ready (): Promise<void> {
    if (this.#live) return
    await new Promise<void>((resolve) => { this.#waiting.push(resolve) })
  }

  async #subscribe (): Promise<void> {
    try {
      await this.#subscriber.subscribe(this.#channel)
      this.#live = true
      for (const resolve of this.#waiting) resolve()
      this.#waiting = []
    } catch (err) {
      // The connection went again; 'ready' comes back with it.
      adapterLog.warn({ err }, 'cache bus: subscribing failed')
    }
  }

  #received (channelName: string, raw: string): void {
    if (channelName !== this.#channel) return
    const message = decodeBusMessage(raw)
    if (message === undefined || message.origin === this.#origin) return
    cacheBusMessages.inc({ event: message.all === true ? 'flush_all' : 'invalidation' })
    if (message.all === true) this.#handlers.onFlushAll?.()
    else this.#handlers.onInvalidate(message.keys, message.tags)
  }

  #lost (): void {
    if (!this.#live) return
    this.#live = false
    cacheBusMessages.inc({ event: 'lost' })
    adapterLog.warn({ channel: this.#channel }, 'cache bus lost: the in-process tier is emptied until it is back')
    this.#handlers.onLost()
  }

  async close (): Promise<void> {
    this.#live = false
    await this.#subscriber.quit().catch(() => { this.#subscriber.disconnect() })
  }
}
