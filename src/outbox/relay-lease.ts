import type { Db, Queryable } from '../runtime/ports.js'
import { rowIdOf } from './delivery.js'
import { OUTBOX_TABLE, RELAY_LEASE_TABLE } from './outbox-table.js'

/**
 * The relay's lease: one row in the database the outbox is in, so at most one relay per database
 * delivers at a time, on the database's clock (no host's clock matters). Each acquisition raises
 * the term; a relay's marks are made only while the row still holds its term, so a relay paused
 * past its lease (another took over) changes nothing when it wakes. The row follows the primary
 * through a failover like any other (it may lose a last renewal there: a second relay then
 * delivers for a moment, which at-least-once allows).
 */

/** Takes the lease if it is free or expired (or already ours); its term, or undefined when another holds it. */
export async function acquireLease (db: Db, owner: string, leaseMs: number): Promise<number | undefined> {
  const { rows } = await db.write<{ term: string }>(
    `UPDATE ${RELAY_LEASE_TABLE} SET owner = $1, term = term + 1, expires_at = now() + $2 * interval '1 millisecond'
      WHERE id = 1 AND (owner IS NULL OR owner = $1 OR expires_at < now()) RETURNING term`, [owner, leaseMs])
  const row = rows[0]
  return row === undefined ? undefined : Number(row.term)
}

/** Extends the lease of `term`; false when it was lost (expired and taken by another). */
export async function renewLease (db: Db, owner: string, term: number, leaseMs: number): Promise<boolean> {
  const { rowCount } = await db.write(
    `UPDATE ${RELAY_LEASE_TABLE} SET expires_at = now() + $3 * interval '1 millisecond' WHERE id = 1 AND owner = $1 AND term = $2`, [owner, term, leaseMs])
  return rowCount === 1
}

/** Gives the lease up at a clean stop, so another relay takes over at once. */
export async function releaseLease (db: Db, owner: string, term: number): Promise<void> {
  await db.write(`UPDATE ${RELAY_LEASE_TABLE} SET owner = NULL, expires_at = '-infinity' WHERE id = 1 AND owner = $1 AND term = $2`, [owner, term])
}

/** Runs `mark` in a transaction only while `term` holds the lease; false (nothing changed) when fenced. */
async function whileHolding (db: Db, term: number, mark: (tx: Queryable) => Promise<void>): Promise<boolean> {
  const { value } = await db.transaction(async (tx) => {
    // FOR SHARE: a take-over (which updates the row) waits for this mark, or this mark sees the new term.
    const held = await tx.query(`SELECT 1 FROM ${RELAY_LEASE_TABLE} WHERE id = 1 AND term = $1 FOR SHARE`, [term])
    if (held.rowCount === 0) return false
    await mark(tx)
    return true
  })
  return value
}

/** Deletes delivered entries, only while `term` holds the lease; false when fenced. */
export async function deleteDelivered (db: Db, term: number, ids: readonly string[]): Promise<boolean> {
  if (ids.length === 0) return true
  return await whileHolding(db, term, async (tx) => { await tx.query(`DELETE FROM ${OUTBOX_TABLE} WHERE id = ANY($1::bigint[])`, [ids]) })
}

/**
 * Marks jobs handed to a queue that keeps them only in its process (levels 1–3) as dispatched in
 * `term`: they stay until the job finished (deleteFinishedJob), and a later term hands them on
 * again, so a process that died with them queued loses nothing. False when fenced.
 */
export async function markDispatched (db: Db, term: number, ids: readonly string[]): Promise<boolean> {
  if (ids.length === 0) return true
  return await whileHolding(db, term, async (tx) => { await tx.query(`UPDATE ${OUTBOX_TABLE} SET dispatched_term = $1 WHERE id = ANY($2::bigint[])`, [term, ids]) })
}

/**
 * deleteDelivered and markDispatched in one transaction (one lease check, one commit): a batch
 * holding both a job and an event — a checkout's receipt and its order.placed — settles in one
 * round of statements instead of two. False (nothing changed) when fenced.
 */
export async function settleDelivered (db: Db, term: number, deleted: readonly string[], dispatched: readonly string[]): Promise<boolean> {
  if (deleted.length === 0 && dispatched.length === 0) return true
  return await whileHolding(db, term, async (tx) => {
    if (deleted.length > 0) await tx.query(`DELETE FROM ${OUTBOX_TABLE} WHERE id = ANY($1::bigint[])`, [deleted])
    if (dispatched.length > 0) await tx.query(`UPDATE ${OUTBOX_TABLE} SET dispatched_term = $1 WHERE id = ANY($2::bigint[])`, [term, dispatched])
  })
}

/** A job that came from the outbox finished: its entries (by the job's id) are done with. */
export async function deleteFinishedJob (db: Db, jobId: string): Promise<void> {
  const rowId = rowIdOf(jobId)
  await db.write(`DELETE FROM ${OUTBOX_TABLE} WHERE kind = 'job' AND (job_id = $1 OR id = $2::bigint)`, [jobId, rowId ?? null])
}
