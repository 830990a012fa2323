import type { Logger } from '../runtime/ports.js'
import { deadLetterTopic, type EventEnvelope, type EventHandler } from './bus.js'
import type { ResolvedSubscribeOptions, StoredEnvelope } from './envelope.js'

/** One delivery of one event to one consumer, as an adapter hands it over. */
export interface Delivery {
  readonly envelope: EventEnvelope
  /** Done: the group never gets this event again. */
  ack(): Promise<void>
  /** Not done: deliver it again (to any consumer of the group) after delayMs, counting one more delivery. */
  retry(delayMs: number): Promise<void>
  /** Still working on it: restarts the ack wait, so only a silent consumer loses its event. */
  extend(): Promise<void>
}

/** Publishes a dead letter, an envelope already addressed to the group's dead-letter topic (the adapter's own publish). */
export type DeadLetterSink = (envelope: StoredEnvelope) => Promise<void>

/** Back-off before a failed event is delivered again: 100 ms doubling, under half the ack wait and 10 s. */
export function retryDelayMs (deliveries: number, ackWaitMs: number): number {
  return Math.min(10_000, Math.floor(ackWaitMs / 2), 100 * 2 ** Math.max(0, deliveries - 1))
}

export const quietLog: Logger = { info () {}, warn () {}, error () {} }

/**
 * Runs a subscription's handler on deliveries, the same way for every adapter: bounded
 * concurrency, heartbeats while a handler runs, ack after success, retry with back-off after a
 * throw, a dead letter once maxDeliveries is reached, and a graceful drain that abandons (never
 * acknowledges) what does not finish in time.
 */
export class DeliveryRunner {
  readonly #group: string
  readonly #handler: EventHandler
  readonly #options: ResolvedSubscribeOptions
  readonly #deadLetter: DeadLetterSink
  readonly #log: Logger
  readonly #running = new Set<Promise<void>>()
  #abandoned = false
  #stopped = false
  #slotFreed: (() => void) | undefined

  constructor (group: string, handler: EventHandler, options: ResolvedSubscribeOptions, deadLetter: DeadLetterSink, log: Logger) {
    this.#group = group
    this.#handler = handler
    this.#options = options
    this.#deadLetter = deadLetter
    this.#log = log
  }

  get inFlight (): number { return this.#running.size }
  get freeSlots (): number { return Math.max(0, this.#options.concurrency - this.#running.size) }
  get abandoned (): boolean { return this.#abandoned }

  /** Resolves when a handler slot is free, or once taking stopped (see stopTaking). */
  async slot (): Promise<void> {
    while (this.freeSlots === 0 && !this.#stopped) await new Promise<void>((resolve) => { this.#slotFreed = resolve })
  }

  /** A closing subscription takes no more deliveries: wakes a reader waiting for a slot. */
  stopTaking (): void {
    this.#stopped = true
    const waiting = this.#slotFreed
    this.#slotFreed = undefined
    waiting?.()
  }

  /** Starts handling a delivery (call only with a free slot); the returned promise never rejects. */
  start (delivery: Delivery): Promise<void> {
    const run = this.#handle(delivery).finally(() => {
      this.#running.delete(run)
      const freed = this.#slotFreed
      this.#slotFreed = undefined
      freed?.()
    })
    this.#running.add(run)
    return run
  }

  async #handle (delivery: Delivery): Promise<void> {
    const { envelope } = delivery
    const { maxDeliveries, ackWaitMs } = this.#options
    try {
      // Its consumer died on the last allowed delivery: no handler runs again.
      if (envelope.deliveries > maxDeliveries) {
        await this.#sendToDeadLetter(delivery, 'its consumer stopped without acknowledging it on the last allowed delivery')
        return
      }
      // Unref'd, and stopped once abandoned: a hung handler must not keep the process alive.
      const heartbeat = setInterval(() => {
        if (this.#abandoned) clearInterval(heartbeat)
        else delivery.extend().catch(() => {})
      }, Math.max(30, Math.floor(ackWaitMs / 3))).unref()
      let failure: unknown
      let failed = false
      try {
        await this.#handler(envelope)
      } catch (err) {
        failure = err
        failed = true
      } finally {
        clearInterval(heartbeat)
      }
      // A crash stand-in: an abandoned delivery is left to the backend's redelivery.
      if (this.#abandoned) return
      if (!failed) {
        await delivery.ack()
        return
      }
      if (envelope.deliveries >= maxDeliveries) {
        await this.#sendToDeadLetter(delivery, describe(failure))
        return
      }
      this.#log.warn({ err: failure, group: this.#group, topic: envelope.topic, eventId: envelope.id, deliveries: envelope.deliveries }, 'event handler failed; the event will be delivered again')
      await delivery.retry(retryDelayMs(envelope.deliveries, ackWaitMs))
    } catch (err) {
      // The backend did not take the ack or retry: the event stays unacknowledged and comes back.
      this.#log.warn({ err, group: this.#group, eventId: envelope.id }, 'acknowledgement not sent; the event will be delivered again')
    }
  }

  async #sendToDeadLetter (delivery: Delivery, error: string): Promise<void> {
    const { deliveries, ...stored } = delivery.envelope
    this.#log.error({ group: this.#group, topic: stored.topic, eventId: stored.id, deliveries, error }, 'event sent to the dead-letter topic')
    await this.#deadLetter({ ...stored, topic: deadLetterTopic(this.#group), deadLetter: { topic: stored.topic, group: this.#group, deliveries, error } })
    // Acknowledged only once the dead letter is accepted: nothing is dropped in between.
    await delivery.ack()
  }

  /** Waits up to graceMs for running handlers; the rest are abandoned. True when all finished. */
  async drain (graceMs: number): Promise<boolean> {
    if (this.#running.size === 0) return true
    let timer: NodeJS.Timeout | undefined
    const finished = await Promise.race([
      Promise.all([...this.#running]).then(() => true),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => { resolve(false) }, graceMs) }),
    ])
    clearTimeout(timer)
    if (!finished) this.#abandoned = true
    return finished
  }
}

function describe (err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 1000)
  return String(err).slice(0, 1000)
}
