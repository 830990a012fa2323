import { createHash } from 'node:crypto'
import { AckPolicy, DeliverPolicy, JetStreamApiError, RetentionPolicy, StorageType, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node'
import { OutgrowError } from '../errors/index.js'
import type { JsonValue, Logger } from '../runtime/ports.js'
import { BrokerEventBus } from './broker-bus.js'
import type { EventHandler, Subscription, SubscribeOptions } from './bus.js'
import { DeliveryRunner, quietLog } from './delivery-runner.js'
import { checkGroup, checkHandler, checkTopic, resolveSubscribeOptions, serializeEnvelope, type StoredEnvelope } from './envelope.js'
import { NatsConsumer } from './nats-consumer.js'

export interface NatsEventBusOptions {
  /** The stream holding every topic of this bus; topic `order.placed` is the subject `<namespace>.order.placed`. */
  readonly namespace?: string
  /** Stream replicas (a NATS cluster of at least that many servers); 1 for a single server. */
  readonly replicas?: number
  /** How long the stream keeps an event (JetStream limits retention); default 7 days. */
  readonly maxAgeMs?: number
  readonly log?: Logger
}

const DAY_MS = 24 * 3600 * 1000

/**
 * The bus on NATS JetStream: one stream per namespace (subjects `<namespace>.>`, file storage,
 * limits retention), a durable pull consumer per group and topic. Publish resolves on the
 * stream's PubAck: stored by the server (by a majority of the stream's replicas when there are
 * several). Topic and event id go out as Nats-Msg-Id, so JetStream drops an id republished to the
 * same topic within its duplicate window (2 minutes).
 */
export class NatsEventBus extends BrokerEventBus<NatsConsumer> {
  readonly #servers: string[]
  readonly #namespace: string
  readonly #options: NatsEventBusOptions
  readonly #log: Logger
  #ready: Promise<{ nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager }> | undefined

  constructor (servers: string | readonly string[], options: NatsEventBusOptions = {}) {
    super()
    this.#servers = typeof servers === 'string' ? [servers] : [...servers]
    this.#namespace = options.namespace ?? 'events'
    this.#options = options
    this.#log = options.log ?? quietLog
  }

  get streamName (): string { return this.#namespace }

  subject (topic: string): string { return `${this.#namespace}.${topic}` }

  /** Connects and makes sure the stream exists, once; a failure is retried by the next call. */
  async #connection (): Promise<{ nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager }> {
    this.#ready ??= this.#connect().catch((err: unknown) => {
      this.#ready = undefined
      throw new OutgrowError('OUTGROW_DEPENDENCY_UNAVAILABLE', `event bus (nats) unavailable: ${err instanceof Error ? err.message : String(err)}`, { dependency: 'event bus' }, { cause: err })
    })
    return await this.#ready
  }

  async #connect (): Promise<{ nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager }> {
    const nc = await connect({ servers: this.#servers, maxReconnectAttempts: -1, reconnectTimeWait: 250 })
    try {
      const jsm = await jetstreamManager(nc)
      await this.#ensureStream(jsm)
      return { nc, js: jetstream(nc), jsm }
    } catch (err) {
      await nc.close()
      throw err
    }
  }

  async #ensureStream (jsm: JetStreamManager): Promise<void> {
    try {
      await jsm.streams.info(this.streamName)
      return
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.status === 404)) throw err
    }
    try {
      await jsm.streams.add({
        name: this.streamName,
        subjects: [`${this.#namespace}.>`],
        storage: StorageType.File,
        // Limits, not interest: a dead-letter topic nobody consumes yet must keep its events.
        retention: RetentionPolicy.Limits,
        max_age: nanos(this.#options.maxAgeMs ?? 7 * DAY_MS),
        num_replicas: this.#options.replicas ?? 1,
      })
    } catch (err) {
      // Another process made it between our look and our add.
      await jsm.streams.info(this.streamName).catch(() => { throw err })
    }
  }

  protected async append (stored: StoredEnvelope): Promise<void> {
    const { js } = await this.#connection()
    try {
      // Deduplicated per topic: a dead letter keeps its event's id but is a message of its own.
      await js.publish(this.subject(stored.topic), serializeEnvelope(stored), { msgID: `${stored.topic}/${stored.id}` })
    } catch (err) {
      throw new OutgrowError('OUTGROW_DEPENDENCY_UNAVAILABLE', `event bus (nats) did not accept the event: ${err instanceof Error ? err.message : String(err)}`, { dependency: 'event bus' }, { cause: err })
    }
  }

  /** A durable per group and topic: a group name may be used on several topics of the stream. */
  durableName (topic: string, group: string): string {
    return `${group}-${createHash('sha256').update(topic).digest('hex').slice(0, 12)}`
  }

  async subscribe<Data extends JsonValue = JsonValue> (topic: string, group: string, handler: EventHandler<Data>, options?: SubscribeOptions): Promise<Subscription> {
    this.assertOpen()
    checkTopic(topic)
    checkGroup(group)
    checkHandler(handler)
    const resolved = resolveSubscribeOptions(options)
    const { js, jsm } = await this.#connection()
    const durable = this.durableName(topic, group)
    const config = {
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(resolved.ackWaitMs),
      // Unlimited: the adapter dead-letters after maxDeliveries itself, so JetStream never drops an event silently.
      max_deliver: -1,
      max_ack_pending: 10_000,
    }
    try {
      await jsm.consumers.info(this.streamName, durable)
      await jsm.consumers.update(this.streamName, durable, config)
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.status === 404)) throw err
      // `New`: a new group starts with the events published after it exists.
      await jsm.consumers.add(this.streamName, { ...config, durable_name: durable, deliver_policy: DeliverPolicy.New, filter_subject: this.subject(topic) })
    }
    const consumer = await js.consumers.get(this.streamName, durable)
    const runner = new DeliveryRunner(group, handler as EventHandler, resolved, async (stored) => { await this.append(stored) }, this.#log)
    const subscription = new NatsConsumer(consumer, runner, resolved.concurrency, group, this.#log)
    this.subscriptions.add(subscription)
    await subscription.start(() => { this.subscriptions.delete(subscription) })
    return subscription
  }

  protected async closeConnection (): Promise<void> {
    const ready = this.#ready
    if (ready !== undefined) await ready.then(async ({ nc }) => { await nc.drain() }, () => {})
  }
}
