import type { Db } from '../runtime/ports.js'

/**
 * The outbox's tables, in the database whose transactions write to it: the entries (a job or an
 * event each, in insertion order) and the relay's lease (one row: owner, term, expiry on the
 * database's clock). A statement trigger notifies the relay's channel, so a commit that wrote
 * entries wakes it at once; PostgreSQL folds a transaction's notifications into one.
 */
export const OUTBOX_TABLE = 'outgrow_outbox'
export const RELAY_LEASE_TABLE = 'outgrow_outbox_relay'
export const OUTBOX_CHANNEL = 'outgrow_outbox'

const DDL = `
CREATE TABLE IF NOT EXISTS ${OUTBOX_TABLE} (
  id bigserial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('job', 'event')),
  name text NOT NULL,
  payload json NOT NULL,
  options json NOT NULL,
  job_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  dispatched_term bigint
);
CREATE INDEX IF NOT EXISTS ${OUTBOX_TABLE}_job_id_idx ON ${OUTBOX_TABLE} (job_id) WHERE job_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS ${RELAY_LEASE_TABLE} (
  id int PRIMARY KEY CHECK (id = 1),
  owner text,
  term bigint NOT NULL DEFAULT 0,
  expires_at timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO ${RELAY_LEASE_TABLE} (id) VALUES (1) ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION ${OUTBOX_TABLE}_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('${OUTBOX_CHANNEL}', '');
  RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER ${OUTBOX_TABLE}_notify AFTER INSERT ON ${OUTBOX_TABLE}
  FOR EACH STATEMENT EXECUTE FUNCTION ${OUTBOX_TABLE}_notify();
`

/** Creates the tables if missing; idempotent, and safe when several processes run it at once. */
export async function ensureOutboxTables (db: Db): Promise<void> {
  await db.transaction(async (tx) => {
    // Concurrent CREATE OR REPLACE of one function fails ("tuple concurrently updated"): one at a time.
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('${OUTBOX_TABLE}'))`)
    await tx.query(DDL)
  })
}
