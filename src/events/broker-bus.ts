import { OutgrowError } from '../errors/index.js'
import type { JsonValue } from '../runtime/ports.js'
import type { EventBus, EventHandler, PublishOptions, Subscription, SubscribeOptions } from './bus.js'
import { makeEnvelope, type StoredEnvelope } from './envelope.js'

/**
 * What the adapters on a broker (Redis Streams, NATS JetStream) share: publish builds the
 * envelope and hands it to the broker, close ends every subscription before the connection, and
 * nothing is accepted once closed. Each adapter says how an envelope is appended (also used to
 * dead-letter one), how a group subscribes and how its connection ends.
 */
export abstract class BrokerEventBus<Consumer extends Subscription> implements EventBus {
  protected readonly subscriptions = new Set<Consumer>()
  #closed = false

  /** Appends an envelope to its topic on the broker; a broker that cannot take it is OUTGROW_DEPENDENCY_UNAVAILABLE. */
  protected abstract append (stored: StoredEnvelope): Promise<void>
  /** Ends the broker connection, after every subscription was closed. */
  protected abstract closeConnection (): Promise<void>
  abstract subscribe<Data extends JsonValue = JsonValue> (topic: string, group: string, handler: EventHandler<Data>, options?: SubscribeOptions): Promise<Subscription>

  async publish (topic: string, data: JsonValue, options?: PublishOptions): Promise<{ id: string }> {
    this.assertOpen()
    const stored = makeEnvelope(topic, data, options)
    await this.append(stored)
    return { id: stored.id }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all([...this.subscriptions].map(async (s) => { await s.close() }))
    await this.closeConnection()
  }

  protected assertOpen (): void {
    if (this.#closed) throw new OutgrowError('OUTGROW_SHUTTING_DOWN', 'event bus is closed')
  }
}
