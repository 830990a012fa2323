import type { Db, DeferredWrite, Queryable, WriteBehindApplier } from '../runtime/ports.js'
import { compareStreamIds } from './write-behind.js'

/**
 * How far each partition's writes are applied, in the database the writes go to: one row per
 * stream and partition with the last applied entry id and the term of the consumer that applied
 * it. A batch's writes and its row change commit in one transaction, so a batch applied once is
 * never applied again (a consumer killed between COMMIT and XACK leaves the entries pending; the
 * next one skips them), and a consumer whose term is over (another took its partition) cannot
 * commit at all.
 */
export const OFFSETS_TABLE = 'outgrow_write_behind_offsets'

/** Thrown in a batch's transaction when a newer consumer owns the partition: the batch is rolled back. */
export class FencedError extends Error {
  constructor (stream: string, partition: number, term: number, current: number) {
    super(`write-behind ${stream}/${partition}: term ${term} is over (term ${current} owns the partition)`)
    this.name = 'FencedError'
  }
}

export async function ensureOffsetsTable (db: Db): Promise<void> {
  const create = `CREATE TABLE IF NOT EXISTS ${OFFSETS_TABLE} (
    stream text NOT NULL,
    partition int NOT NULL,
    term bigint NOT NULL,
    last_id text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, partition))`
  try {
    await db.write(create)
  } catch (err) {
    // Two processes creating it at once: one wins with a unique violation on the catalog; it exists now.
    if ((err as { code?: string }).code !== '23505') throw err
  }
}

/** Locks the partition's row (made if missing) and returns its last id; fenced when a newer term owns it. */
async function lockPartition (tx: Queryable, stream: string, partition: number, term: number): Promise<string> {
  await tx.query(`INSERT INTO ${OFFSETS_TABLE} (stream, partition, term, last_id) VALUES ($1, $2, 0, '0-0') ON CONFLICT DO NOTHING`, [stream, partition])
  const found = await tx.query<{ term: string, last_id: string }>(`SELECT term, last_id FROM ${OFFSETS_TABLE} WHERE stream = $1 AND partition = $2 FOR UPDATE`, [stream, partition])
  const row = found.rows[0] as { term: string, last_id: string }
  const current = Number(row.term)
  if (current > term) throw new FencedError(stream, partition, term, current)
  return row.last_id
}

/**
 * A consumer that just took a partition over records its term first: from then on, the consumer
 * it replaced (if still alive, e.g. paused past its lease) can commit no batch.
 */
export async function takeOver (db: Db, stream: string, partition: number, term: number): Promise<void> {
  await db.transaction(async (tx) => {
    await lockPartition(tx, stream, partition, term)
    await tx.query(`UPDATE ${OFFSETS_TABLE} SET term = $3 WHERE stream = $1 AND partition = $2`, [stream, partition, term])
  })
}

/**
 * Applies a batch (in stream order) in one transaction with its row change: the writes at or
 * before the partition's last applied id are skipped (a redelivery), the rest go to the applier.
 */
export async function applyBatch (db: Db, stream: string, partition: number, term: number, batch: readonly DeferredWrite[], applier: WriteBehindApplier): Promise<{ applied: number, skipped: number }> {
  const last = batch.at(-1)
  if (last === undefined) return { applied: 0, skipped: 0 }
  const { value } = await db.transaction(async (tx) => {
    const lastApplied = await lockPartition(tx, stream, partition, term)
    const fresh = batch.filter((write) => compareStreamIds(write.id, lastApplied) > 0)
    if (fresh.length > 0) await applier(fresh, tx)
    await tx.query(`UPDATE ${OFFSETS_TABLE} SET term = $3, last_id = $4, applied_at = now() WHERE stream = $1 AND partition = $2`,
      [stream, partition, term, compareStreamIds(last.id, lastApplied) > 0 ? last.id : lastApplied])
    return { applied: fresh.length, skipped: batch.length - fresh.length }
  })
  return value
}
