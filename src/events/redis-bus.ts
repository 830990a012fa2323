import type { Redis } from 'ioredis'
import { OutgrowError } from '../errors/index.js'
import { isRedisConnectionError } from '../runtime/connection-errors.js'
import type { JsonValue, Logger } from '../runtime/ports.js'
import { createRedisClient, type RedisTarget } from '../runtime/redis-client.js'
import { BrokerEventBus } from './broker-bus.js'
import type { EventHandler, Subscription, SubscribeOptions } from './bus.js'
import { DeliveryRunner, quietLog } from './delivery-runner.js'
import { checkGroup, checkHandler, checkTopic, resolveSubscribeOptions, serializeEnvelope, type StoredEnvelope } from './envelope.js'
import { RedisStreamConsumer } from './redis-consumer.js'
import { ENVELOPE_FIELD } from './redis-stream-entries.js'

export interface RedisEventBusOptions {
  /** Prefix of the stream keys: topic `order.placed` is the stream `<namespace>:order.placed`. */
  readonly namespace?: string
  /**
   * Each stream is trimmed to about this many entries at every publish (XADD MAXLEN ~). Trimming
   * ignores consumer groups: a group further behind than this loses its oldest events (each one is
   * logged when met), so size it for the longest outage of the slowest group.
   */
  readonly maxLen?: number
  readonly log?: Logger
}

export const DEFAULT_REDIS_STREAM_MAXLEN = 100_000

/**
 * The bus on Redis Streams (level 4): a stream per topic, a Redis consumer group per group.
 * Publish resolves once XADD returned: the event is in Redis's memory and, with the append-only
 * file the stack runs Redis with (fsync every second), on disk within a second.
 */
export class RedisEventBus extends BrokerEventBus<RedisStreamConsumer> {
  readonly #target: RedisTarget
  readonly #commands: Redis
  readonly #namespace: string
  readonly #maxLen: number
  readonly #log: Logger

  constructor (target: RedisTarget, options: RedisEventBusOptions = {}) {
    super()
    this.#target = target
    this.#commands = createRedisClient(target, { purpose: 'command' })
    this.#namespace = options.namespace ?? 'events'
    this.#maxLen = options.maxLen ?? DEFAULT_REDIS_STREAM_MAXLEN
    this.#log = options.log ?? quietLog
  }

  streamKey (topic: string): string {
    return `${this.#namespace}:${topic}`
  }

  protected async append (stored: StoredEnvelope): Promise<void> {
    try {
      await this.#commands.call('XADD', this.streamKey(stored.topic), 'MAXLEN', '~', this.#maxLen, '*', ENVELOPE_FIELD, serializeEnvelope(stored))
    } catch (err) {
      if (!isRedisConnectionError(err)) throw err
      throw new OutgrowError('OUTGROW_DEPENDENCY_UNAVAILABLE', 'event bus (redis) unavailable', { dependency: 'event bus' }, { cause: err })
    }
  }

  async subscribe<Data extends JsonValue = JsonValue> (topic: string, group: string, handler: EventHandler<Data>, options?: SubscribeOptions): Promise<Subscription> {
    this.assertOpen()
    checkTopic(topic)
    checkGroup(group)
    checkHandler(handler)
    const resolved = resolveSubscribeOptions(options)
    const stream = this.streamKey(topic)
    try {
      // `$`: a new group starts with the events published after it exists.
      await this.#commands.call('XGROUP', 'CREATE', stream, group, '$', 'MKSTREAM')
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith('BUSYGROUP'))) throw err
    }
    const runner = new DeliveryRunner(group, handler as EventHandler, resolved, async (stored) => { await this.append(stored) }, this.#log)
    const consumer = new RedisStreamConsumer({
      stream, group, runner, ackWaitMs: resolved.ackWaitMs, log: this.#log,
      commands: this.#commands,
      reader: createRedisClient(this.#target, { purpose: 'blocking' }),
    })
    this.subscriptions.add(consumer)
    consumer.start(() => { this.subscriptions.delete(consumer) })
    return consumer
  }

  protected async closeConnection (): Promise<void> {
    await this.#commands.quit().catch(() => { this.#commands.disconnect() })
  }
}
