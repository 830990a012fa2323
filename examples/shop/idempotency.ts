import { createHash } from 'node:crypto'
import { OutgrowError, type Queryable } from '../../src/index.js'

/**
 * Idempotency keys for POST requests, as Stripe's: every copy of one keyed request gets the same
 * answer. The state lives in PostgreSQL (table idempotency_keys), so copies that reach different
 * instances agree.
 *
 * A request claims its key with an INSERT inside its own transaction and records its response
 * in the same transaction. Until that commits, the unique key makes a copy's INSERT wait for it
 * (at most CLAIM_WAIT); then the copy reads the recorded response and replays it. If the first
 * transaction rolls back (e.g. the database failed), nothing was done and the copy runs itself.
 * So a row is only ever visible with its response.
 */

/** How long a key is remembered; after that it may be used again for a new request. */
export const KEY_TTL = '24 hours'
/** How long a copy waits for the request holding its key before answering "in progress". */
const CLAIM_WAIT = '3s'

export const IDEMPOTENCY_KEYS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS idempotency_keys (
    user_id int NOT NULL REFERENCES users(id),
    key text NOT NULL,
    request_hash text NOT NULL,
    response_status int,
    response_body json,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
  );
  CREATE INDEX IF NOT EXISTS idempotency_keys_created_idx ON idempotency_keys (created_at);
`

export interface RecordedResponse { readonly status: number, readonly body: Record<string, unknown> }

/** A request's identity for its key: method, route and body (keys in sorted order). */
export function requestHash (method: string, route: string, body: unknown): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical)
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]))
    }
    return value
  }
  return createHash('sha256').update(JSON.stringify([method, route, canonical(body ?? null)])).digest('hex')
}

/** The savepoint right after a claim: undoAfterClaim goes back to it. */
const AFTER_CLAIM = 'after_claim'

/**
 * Claims (userId, key) for this transaction, waiting for a copy in flight. Returns undefined when
 * the caller is to process the request, or the response recorded by an earlier copy.
 */
export async function claimKey (tx: Queryable, userId: number, key: string, hash: string): Promise<RecordedResponse | undefined> {
  // Bounded wait for a copy in flight; stock row locks later in the transaction wait as before.
  await tx.query(`SET LOCAL lock_timeout = '${CLAIM_WAIT}'`)
  let claimed: boolean
  try {
    // An expired key is taken over as if it were new.
    const inserted = await tx.query(
      `INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3)
       ON CONFLICT (user_id, key) DO UPDATE
         SET request_hash = EXCLUDED.request_hash, response_status = NULL, response_body = NULL, created_at = now()
         WHERE idempotency_keys.created_at < now() - $4::interval
       RETURNING 1`, [userId, key, hash, KEY_TTL])
    claimed = inserted.rowCount === 1
  } catch (err) {
    if ((err as { code?: unknown }).code === '55P03') {
      throw new OutgrowError('OUTGROW_IDEMPOTENCY_IN_PROGRESS', undefined, { idempotencyKey: key })
    }
    throw err
  }
  // Claimed: the savepoint goes in the same round trip, so a refusal can undo what follows and keep the key.
  if (claimed) {
    await tx.query(`SET LOCAL lock_timeout = DEFAULT; SAVEPOINT ${AFTER_CLAIM}`)
    return undefined
  }
  await tx.query('SET LOCAL lock_timeout = DEFAULT')
  const found = await tx.query<{ request_hash: string, response_status: number | null, response_body: Record<string, unknown> }>(
    'SELECT request_hash, response_status, response_body FROM idempotency_keys WHERE user_id = $1 AND key = $2', [userId, key])
  const row = found.rows[0]
  // Pruned meanwhile, or (never by this code) committed without a response: the client retries.
  if (row?.response_status == null) throw new OutgrowError('OUTGROW_IDEMPOTENCY_IN_PROGRESS', undefined, { idempotencyKey: key })
  if (row.request_hash !== hash) throw new OutgrowError('OUTGROW_IDEMPOTENCY_MISMATCH', undefined, { idempotencyKey: key })
  return { status: row.response_status, body: row.response_body }
}

/** Undoes what the transaction did since it claimed its key, and keeps the claim (a refusal's answer is recorded with it). */
export async function undoAfterClaim (tx: Queryable): Promise<void> {
  await tx.query(`ROLLBACK TO SAVEPOINT ${AFTER_CLAIM}`)
}

/** Stores the response of the request that claimed the key, in its transaction. */
export async function recordResponse (tx: Queryable, userId: number, key: string, response: RecordedResponse): Promise<void> {
  await tx.query('UPDATE idempotency_keys SET response_status = $3, response_body = $4 WHERE user_id = $1 AND key = $2',
    [userId, key, response.status, JSON.stringify(response.body)])
}

/** Errors that are the request's answer (a 4xx that retrying cannot change), so copies get them too. */
export function isRecordableError (err: unknown): err is OutgrowError {
  return err instanceof OutgrowError && !err.retryable && err.status >= 400 && err.status < 500
}

/** Drops expired keys. */
export async function pruneExpiredKeys (db: { write: (sql: string, params?: readonly unknown[]) => Promise<unknown> }): Promise<void> {
  await db.write('DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval', [KEY_TTL])
}
