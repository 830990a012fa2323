import { OutgrowError } from '../errors/index.js'
import type { JsonValue, Logger } from '../runtime/ports.js'
import { DEFAULT_CLOSE_GRACE_MS, type EventBus, type EventHandler, type PublishOptions, type Subscription, type SubscribeOptions } from './bus.js'
import { DeliveryRunner, quietLog, type Delivery } from './delivery-runner.js'
import { checkGroup, checkHandler, checkTopic, makeEnvelope, resolveSubscribeOptions, type StoredEnvelope } from './envelope.js'

interface Entry { readonly stored: StoredEnvelope, deliveries: number }

interface Outstanding {
  readonly entry: Entry
  readonly consumer: MemoryConsumer
  timer: NodeJS.Timeout | undefined
}

interface MemoryConsumer {
  readonly runner: DeliveryRunner
  readonly ackWaitMs: number
  closed: boolean
}

/**
 * One consumer group's state: events not yet handed out (oldest first), the deliveries under way,
 * and the keys that have one under way or waiting for a retry — a key's next event waits for it,
 * which is what gives per-key order.
 */
class MemoryGroup {
  readonly ready: Entry[] = []
  readonly outstanding = new Set<Outstanding>()
  readonly busyKeys = new Set<string>()
  readonly consumers: MemoryConsumer[] = []
  #next = 0

  dispatch (): void {
    for (let i = 0; i < this.ready.length;) {
      const entry = this.ready[i] as Entry
      const key = entry.stored.key
      if (key !== undefined && this.busyKeys.has(key)) { i++; continue }
      const consumer = this.#pickConsumer()
      if (consumer === undefined) return
      this.ready.splice(i, 1)
      this.#deliver(entry, consumer)
    }
  }

  /** Round robin over the group's open consumers with a free handler slot. */
  #pickConsumer (): MemoryConsumer | undefined {
    for (let tried = 0; tried < this.consumers.length; tried++) {
      const consumer = this.consumers[(this.#next++) % this.consumers.length] as MemoryConsumer
      if (!consumer.closed && consumer.runner.freeSlots > 0) return consumer
    }
    return undefined
  }

  #deliver (entry: Entry, consumer: MemoryConsumer): void {
    entry.deliveries++
    if (entry.stored.key !== undefined) this.busyKeys.add(entry.stored.key)
    const outstanding: Outstanding = { entry, consumer, timer: undefined }
    const armTimer = (): void => {
      clearTimeout(outstanding.timer)
      outstanding.timer = setTimeout(() => { this.requeue(outstanding, 0) }, consumer.ackWaitMs).unref()
    }
    armTimer()
    this.outstanding.add(outstanding)
    const delivery: Delivery = {
      envelope: { ...entry.stored, deliveries: entry.deliveries },
      ack: async () => { if (this.#settle(outstanding)) this.#release(entry) },
      retry: async (delayMs) => { this.requeue(outstanding, delayMs) },
      extend: async () => { if (this.outstanding.has(outstanding)) armTimer() },
    }
    void consumer.runner.start(delivery).finally(() => { this.dispatch() })
  }

  /** Ends a delivery; false if it had already ended (its ack wait ran out first). */
  #settle (outstanding: Outstanding): boolean {
    clearTimeout(outstanding.timer)
    return this.outstanding.delete(outstanding)
  }

  #release (entry: Entry): void {
    if (entry.stored.key !== undefined) this.busyKeys.delete(entry.stored.key)
    this.dispatch()
  }

  /** Back at the head of the queue (after delayMs): it is the oldest event of its key still open. */
  requeue (outstanding: Outstanding, delayMs: number): void {
    if (!this.#settle(outstanding)) return
    const back = (): void => {
      this.ready.unshift(outstanding.entry)
      this.#release(outstanding.entry)
    }
    if (delayMs <= 0) back()
    else setTimeout(back, delayMs).unref()
  }

  /** A consumer that stopped without acknowledging: its deliveries go to the others at once. */
  abandon (consumer: MemoryConsumer): void {
    for (const outstanding of [...this.outstanding]) if (outstanding.consumer === consumer) this.requeue(outstanding, 0)
  }
}

/**
 * The in-process bus (levels 1–3: one app process). Publish resolves once every group of the
 * topic holds the event in this process's memory: a crash of the process loses what is not yet
 * handled. Per-key order within a group: a key's next event is handed out only after the previous
 * one was acknowledged (or dead-lettered).
 */
export class MemoryEventBus implements EventBus {
  readonly #topics = new Map<string, Map<string, MemoryGroup>>()
  readonly #subscriptions = new Set<Subscription>()
  readonly #log: Logger
  #closed = false

  constructor (options: { log?: Logger } = {}) {
    this.#log = options.log ?? quietLog
  }

  async publish (topic: string, data: JsonValue, options?: PublishOptions): Promise<{ id: string }> {
    this.#assertOpen()
    const stored = makeEnvelope(topic, data, options)
    this.#append(stored)
    return { id: stored.id }
  }

  #append (stored: StoredEnvelope): void {
    for (const group of this.#topics.get(stored.topic)?.values() ?? []) {
      group.ready.push({ stored, deliveries: 0 })
      group.dispatch()
    }
  }

  async subscribe<Data extends JsonValue = JsonValue> (topic: string, groupName: string, handler: EventHandler<Data>, options?: SubscribeOptions): Promise<Subscription> {
    this.#assertOpen()
    checkTopic(topic)
    checkGroup(groupName)
    checkHandler(handler)
    const resolved = resolveSubscribeOptions(options)
    const groups = this.#topics.get(topic) ?? new Map<string, MemoryGroup>()
    this.#topics.set(topic, groups)
    const group = groups.get(groupName) ?? new MemoryGroup()
    groups.set(groupName, group)
    const runner = new DeliveryRunner(groupName, handler as EventHandler, resolved, async (stored) => { this.#append(stored) }, this.#log)
    const consumer: MemoryConsumer = { runner, ackWaitMs: resolved.ackWaitMs, closed: false }
    group.consumers.push(consumer)
    group.dispatch()
    const subscription: Subscription = {
      close: async ({ graceMs = DEFAULT_CLOSE_GRACE_MS } = {}) => {
        if (consumer.closed) return
        consumer.closed = true
        group.consumers.splice(group.consumers.indexOf(consumer), 1)
        if (!await runner.drain(graceMs)) group.abandon(consumer)
        this.#subscriptions.delete(subscription)
      },
    }
    this.#subscriptions.add(subscription)
    return subscription
  }

  async close (): Promise<void> {
    this.#closed = true
    await Promise.all([...this.#subscriptions].map(async (s) => { await s.close() }))
  }

  #assertOpen (): void {
    if (this.#closed) throw new OutgrowError('OUTGROW_SHUTTING_DOWN', 'event bus is closed')
  }
}
