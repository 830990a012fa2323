import type { JsonValue } from '../runtime/ports.js'

/**
 * The event bus port. Application code publishes domain events and consumes them in consumer
 * groups; configuration picks the adapter (in-process, Redis Streams, NATS JetStream). Nothing
 * here names a backend's notions: streams, subjects and pending lists stay inside the adapters.
 */

/** One event as a consumer sees it. Everything but `deliveries` is fixed at publish. */
export interface EventEnvelope<Data extends JsonValue = JsonValue> {
  /** Unique per event; the same on every delivery, so consumers can deduplicate by it. */
  readonly id: string
  readonly topic: string
  /** Events with one key belong together (one order, one product); see the ordering notes in docs/events.md. */
  readonly key?: string | undefined
  /** When it was published (ISO 8601, the publisher's clock). */
  readonly time: string
  /** What happened; the topic unless the publisher named it. */
  readonly type: string
  readonly data: Data
  /** 1 on the first delivery to this group, 2 on the first redelivery, … */
  readonly deliveries: number
  /** Set on events in a dead-letter topic: where the event failed and why. */
  readonly deadLetter?: DeadLetterInfo | undefined
}

export interface DeadLetterInfo {
  readonly topic: string
  readonly group: string
  readonly deliveries: number
  readonly error: string
}

export interface PublishOptions {
  /** Groups events, e.g. by aggregate id; adapters that order events do so per key. */
  readonly key?: string
  /** The event id; a fresh UUID unless given (give one derived from the change to make retries recognizable). */
  readonly id?: string
  /** The event's type; the topic unless given. */
  readonly type?: string
}

export interface SubscribeOptions {
  /** Handlers of this subscription running at once (default 1). */
  readonly concurrency?: number
  /** Deliveries before an event goes to the group's dead-letter topic (default 5). */
  readonly maxDeliveries?: number
  /**
   * A delivery not acknowledged for this long — its consumer crashed or hangs — is delivered again
   * (default 30 000 ms). A running handler keeps its event by heartbeat, so a slow handler is not
   * a dead one; only silence counts.
   */
  readonly ackWaitMs?: number
}

export type EventHandler<Data extends JsonValue = JsonValue> = (event: EventEnvelope<Data>) => Promise<void>

export interface Subscription {
  /**
   * Stops taking events and waits up to `graceMs` (default 10 000) for running handlers; events
   * whose handler did not finish by then are left unacknowledged and delivered again elsewhere.
   */
  close(options?: { readonly graceMs?: number }): Promise<void>
}

/** What application code publishes with (Ports.events). */
export interface Events {
  /**
   * Publishes one event; resolves once the backend has accepted it (see docs/events.md for what
   * each adapter's acceptance survives) and returns its id. Bad input throws OUTGROW_VALIDATION
   * naming the field, and publishes nothing.
   */
  publish(topic: string, data: JsonValue, options?: PublishOptions): Promise<{ readonly id: string }>
}

export interface EventBus extends Events {
  /**
   * Joins consumer group `group` on `topic`. Each group gets every event published after the
   * group was first created, once per group; the group's subscriptions (in any process) share
   * them. At least once: an event is acknowledged only after its handler resolved; a throw or a
   * crash delivers it again, and after `maxDeliveries` it goes to `deadLetterTopic(group)`.
   */
  subscribe<Data extends JsonValue = JsonValue>(topic: string, group: string, handler: EventHandler<Data>, options?: SubscribeOptions): Promise<Subscription>
  /** Closes every subscription (draining as Subscription.close does), then the connection. */
  close(): Promise<void>
}

/** Where a group's events go after maxDeliveries failed deliveries; subscribe to it like any topic. */
export function deadLetterTopic (group: string): string {
  return `dead-letter.${group}`
}

export const DEFAULT_SUBSCRIBE_OPTIONS = { concurrency: 1, maxDeliveries: 5, ackWaitMs: 30_000 } as const
export const DEFAULT_CLOSE_GRACE_MS = 10_000
