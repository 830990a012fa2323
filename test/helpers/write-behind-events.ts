import type { WriteBehindApplier } from '../../src/runtime/ports.js'

/** A write-behind stream for tests: each write is an event `{ seq }` of its key. */
export const EVENTS_STREAM = 'test.events'

/**
 * Every applied event, in the order applied (`applied`), at most once per key and seq; and a
 * running total per key, incremented by every event applied (on purpose not idempotent: it is
 * right only if no committed batch is ever applied again).
 */
export const EVENTS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS wb_events (applied bigserial PRIMARY KEY, key text NOT NULL, seq int NOT NULL, UNIQUE (key, seq));
  CREATE TABLE IF NOT EXISTS wb_totals (key text PRIMARY KEY, total bigint NOT NULL)`

/** The events applier; `duringBatch` runs inside each batch's transaction (to pause or report there). */
export function eventsApplier (duringBatch?: (size: number) => Promise<void>): WriteBehindApplier {
  return async (batch, tx) => {
    const keys = batch.map((write) => write.key)
    const seqs = batch.map((write) => Number((write.payload as { seq: number }).seq))
    await tx.query(`INSERT INTO wb_events (key, seq) SELECT k, s FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS t(k, s, o) ORDER BY o ON CONFLICT DO NOTHING`, [keys, seqs])
    await tx.query(`INSERT INTO wb_totals (key, total) SELECT k, count(*) FROM unnest($1::text[]) AS t(k) GROUP BY k ORDER BY k
      ON CONFLICT (key) DO UPDATE SET total = wb_totals.total + EXCLUDED.total`, [keys])
    await duringBatch?.(batch.length)
  }
}
