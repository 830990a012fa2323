import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream'
import type { Logger } from '../runtime/ports.js'
import type { Subscription } from './bus.js'
import type { Delivery, DeliveryRunner } from './delivery-runner.js'
import { parseEnvelope } from './envelope.js'

/**
 * One member of a group: pulls from the group's durable consumer (at most `concurrency`
 * messages buffered), hands each to the runner; ack, nak with a delay (JetStream counts the
 * delivery and redelivers after it), and `working` to restart the ack wait while a handler runs.
 */
export class NatsConsumer implements Subscription {
  readonly #consumer: Consumer
  readonly #runner: DeliveryRunner
  readonly #concurrency: number
  readonly #group: string
  readonly #log: Logger
  #messages: ConsumerMessages | undefined
  #loop: Promise<void> | undefined
  #closing = false
  #onClose: () => void = () => {}

  constructor (consumer: Consumer, runner: DeliveryRunner, concurrency: number, group: string, log: Logger) {
    this.#consumer = consumer
    this.#runner = runner
    this.#concurrency = concurrency
    this.#group = group
    this.#log = log
  }

  async start (onClose: () => void): Promise<void> {
    this.#onClose = onClose
    const messages = await this.#consumer.consume({ max_messages: this.#concurrency })
    this.#messages = messages
    this.#loop = this.#run(messages)
  }

  async #run (messages: ConsumerMessages): Promise<void> {
    for await (const message of messages) {
      await this.#runner.slot()
      // Pulled but not started: back at once rather than after the ack wait.
      if (this.#closing) { message.nak(); continue }
      this.#handle(message)
    }
  }

  #handle (message: JsMsg): void {
    const envelope = parseEnvelope(message.string())
    if (envelope === undefined) {
      this.#log.error({ group: this.#group, subject: message.subject, seq: message.seq }, 'a message that is not an event envelope was terminated without handling')
      message.term()
      return
    }
    const delivery: Delivery = {
      envelope: { ...envelope, deliveries: message.info.deliveryCount },
      ack: async () => { message.ack() },
      retry: async (delayMs) => { message.nak(delayMs) },
      extend: async () => { message.working() },
    }
    void this.#runner.start(delivery)
  }

  async close ({ graceMs = 10_000 }: { readonly graceMs?: number } = {}): Promise<void> {
    if (this.#closing) return
    this.#closing = true
    this.#runner.stopTaking()
    this.#messages?.stop()
    await this.#loop?.catch(() => {})
    await this.#runner.drain(graceMs)
    this.#onClose()
  }
}
