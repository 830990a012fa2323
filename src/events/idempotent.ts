import { OutgrowError } from '../errors/index.js'
import type { Db, JsonValue, Queryable } from '../runtime/ports.js'
import type { EventEnvelope, EventHandler } from './bus.js'

/**
 * Idempotent consumers: the bus delivers at least once, so a handler whose effect must happen once
 * per event deduplicates by event id within its group. Two forms:
 *
 * - in the database, in the handler's own transaction (`idempotentInTransaction`): the mark
 *   (group, event id) and the effect commit together or not at all — exactly once in effect, even
 *   across a crash at any point, since no moment exists where one is durable without the other;
 * - in a claim store such as Redis `SET NX` with a TTL (`idempotentWithClaims`): the effect
 *   happens in another system than the mark, so a crash after the effect and before the mark runs
 *   it again on redelivery (at least once, duplicates only in that gap), and a mark is forgotten
 *   after its TTL.
 */

/** The table of the database form; run once (the shop's migration does it, or call createProcessedEventsTable). */
export const PROCESSED_EVENTS_DDL = `CREATE TABLE IF NOT EXISTS processed_events (
  group_name text NOT NULL,
  event_id text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_name, event_id)
)`

export async function createProcessedEventsTable (db: Db): Promise<void> {
  await db.write(PROCESSED_EVENTS_DDL)
}

/**
 * A handler whose effect is applied through `tx` in one transaction with the event's mark: a
 * delivery of an event already marked for `group` commits nothing and is acknowledged. A
 * concurrent duplicate waits on the first one's uncommitted mark (the primary key) and then finds
 * it. A throw rolls back effect and mark alike, so the redelivery starts afresh.
 */
export function idempotentInTransaction<Data extends JsonValue = JsonValue> (db: Db, group: string, handler: (event: EventEnvelope<Data>, tx: Queryable) => Promise<void>): EventHandler<Data> {
  return async (event) => {
    await db.transaction(async (tx) => {
      const marked = await tx.query('INSERT INTO processed_events (group_name, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [group, event.id])
      if (marked.rowCount === 0) return
      await handler(event, tx)
    })
  }
}

/** Marks kept outside the effect's transaction (Redis, or memory in one process). */
export interface ClaimStore {
  /**
   * Claims `key` for `ms` if nobody holds or finished it: 'claimed' (go ahead), 'done' (finished
   * before: skip), or 'busy' (another consumer is on it now).
   */
  claim(key: string, ms: number): Promise<'claimed' | 'done' | 'busy'>
  /** The claim's work is done: remember that for ttlSeconds. */
  complete(key: string, ttlSeconds: number): Promise<void>
  /** The work failed: let the next delivery claim it again. */
  release(key: string): Promise<void>
}

export interface ClaimOptions {
  /** How long a finished event is remembered (default a day): redeliveries after it run the handler again. */
  readonly ttlSeconds?: number
  /** How long a claim holds while the handler runs (default 60 s): a crashed consumer's claim lapses after it. */
  readonly claimMs?: number
}

/**
 * A handler that runs at most once per event id and group while its mark lives, unless a crash
 * falls between the effect and the mark (see above). A delivery that finds another consumer on
 * the same event fails with a retryable error, so the bus delivers it again later.
 */
export function idempotentWithClaims<Data extends JsonValue = JsonValue> (store: ClaimStore, group: string, handler: EventHandler<Data>, options: ClaimOptions = {}): EventHandler<Data> {
  const ttlSeconds = options.ttlSeconds ?? 86_400
  const claimMs = options.claimMs ?? 60_000
  return async (event) => {
    const key = `${group}:${event.id}`
    const claim = await store.claim(key, claimMs)
    if (claim === 'done') return
    if (claim === 'busy') throw new OutgrowError('OUTGROW_CONFLICT', `event ${event.id} is being handled by another consumer of ${group}`, { eventId: event.id, group })
    try {
      await handler(event)
    } catch (err) {
      await store.release(key).catch(() => {})
      throw err
    }
    await store.complete(key, ttlSeconds)
  }
}
