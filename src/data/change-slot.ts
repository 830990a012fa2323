import pg from 'pg'
import { OutgrowError } from '../errors/index.js'
import type { Logger } from '../runtime/ports.js'
import type { TableRule } from './change-rules.js'
import { parseLsn } from './lsn.js'

/**
 * The change feed's objects on the primary, made idempotently before each stream: the tables'
 * replica identity, the publication, the replication slot, and the row that says a full flush is
 * owed. Names are checked identifiers (change-rules.ts, process config); they are still quoted.
 */

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`
const qualified = (t: TableRule): string => `${quote(t.schema)}.${quote(t.name)}`

function unavailable (message: string): OutgrowError {
  return new OutgrowError('OUTGROW_CHANGE_FEED_UNAVAILABLE', message)
}

/** Refuses a server that cannot serve a logical slot: a standby, or wal_level below logical. */
export async function assertLogicalPrimary (client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ wal_level: string, recovery: boolean }>('SELECT current_setting(\'wal_level\') AS wal_level, pg_is_in_recovery() AS recovery')
  const row = rows[0]
  if (row?.recovery === true) throw unavailable('the server is in recovery (a standby): the change feed reads the primary')
  if (row?.wal_level !== 'logical') throw unavailable(`wal_level is ${row?.wal_level ?? 'unknown'}: the change feed needs wal_level = logical (set it and restart PostgreSQL)`)
}

/**
 * Every table gets a replica identity that names its deleted rows: FULL when its rule asks for
 * it, or when it has no primary key (a published table without one refuses UPDATE and DELETE).
 */
export async function prepareReplicaIdentity (client: pg.Client, tables: readonly TableRule[], log: Logger): Promise<void> {
  for (const table of tables) {
    const { rows } = await client.query<{ identity: string, has_pk: boolean }>(
      `SELECT c.relreplident AS identity, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pk
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`, [table.schema, table.name])
    const row = rows[0]
    if (row === undefined) throw unavailable(`invalidateOn.${table.table}: no such table on the primary`)
    const keyless = row.identity === 'n' || (row.identity === 'd' && !row.has_pk)
    if (row.identity !== 'f' && (table.replicaIdentityFull || keyless)) {
      await client.query(`ALTER TABLE ${qualified(table)} REPLICA IDENTITY FULL`)
      log.warn({ table: table.table, reason: keyless ? 'no primary key' : 'asked for' }, 'change feed: table set to REPLICA IDENTITY FULL')
    }
  }
}

/** The publication holds exactly the declared tables. */
export async function preparePublication (client: pg.Client, publication: string, tables: readonly TableRule[]): Promise<void> {
  const list = tables.map(qualified).join(', ')
  const existing = await client.query<{ schemaname: string, tablename: string }>('SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1', [publication])
  const exists = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication])
  if (exists.rowCount === 0) {
    await client.query(`CREATE PUBLICATION ${quote(publication)} FOR TABLE ${list}`).catch((err: unknown) => {
      // Another consumer made it meanwhile.
      if ((err as { code?: string }).code !== '42710') throw err
    })
    return
  }
  const have = new Set(existing.rows.map((r) => `${r.schemaname}.${r.tablename}`))
  const want = new Set(tables.map((t) => `${t.schema}.${t.name}`))
  if (have.size !== want.size || [...want].some((t) => !have.has(t))) await client.query(`ALTER PUBLICATION ${quote(publication)} SET TABLE ${list}`)
}

const MARKER_TABLE = 'outgrow_change_feeds'

/**
 * A slot made now cannot say what changed before it, so its first consumer owes a full flush.
 * The debt is written down before the slot is made and cleared after the flush, so a consumer that
 * dies in between leaves it to the next one.
 */
export async function prepareFlushMarker (client: pg.Client): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS ${MARKER_TABLE} (slot text PRIMARY KEY, flush_owed boolean NOT NULL)`).catch((err: unknown) => {
    // Two consumers creating it at once: one wins (unique_violation on the type, or duplicate_table).
    if (!['23505', '42P07'].includes((err as { code?: string }).code ?? '')) throw err
  })
}

export async function setFlushOwed (client: pg.Client, slot: string, owed: boolean): Promise<void> {
  await client.query(`INSERT INTO ${MARKER_TABLE} (slot, flush_owed) VALUES ($1, $2) ON CONFLICT (slot) DO UPDATE SET flush_owed = $2`, [slot, owed])
}

export async function flushOwed (client: pg.Client, slot: string): Promise<boolean> {
  const { rows } = await client.query<{ flush_owed: boolean }>(`SELECT flush_owed FROM ${MARKER_TABLE} WHERE slot = $1`, [slot])
  return rows[0]?.flush_owed === true
}

export interface SlotState {
  readonly exists: boolean
  readonly active: boolean
  readonly confirmed: string | undefined
  /** PostgreSQL removed WAL the slot still needed (max_slot_wal_keep_size): it can stream no more. */
  readonly lost: boolean
}

export async function slotState (client: pg.Client, slot: string): Promise<SlotState> {
  const { rows } = await client.query<{ active: boolean, confirmed: string | null, wal_status: string | null }>(
    'SELECT active, confirmed_flush_lsn::text AS confirmed, wal_status FROM pg_replication_slots WHERE slot_name = $1', [slot])
  const row = rows[0]
  if (row === undefined) return { exists: false, active: false, confirmed: undefined, lost: false }
  return { exists: true, active: row.active, confirmed: row.confirmed ?? undefined, lost: row.wal_status === 'lost' }
}

/** Creates the logical slot (pgoutput); false when another consumer made it first. */
export async function createSlot (client: pg.Client, slot: string): Promise<boolean> {
  try {
    await client.query('SELECT pg_create_logical_replication_slot($1, \'pgoutput\')', [slot])
    return true
  } catch (err) {
    if ((err as { code?: string }).code === '42710') return false
    throw err
  }
}

export async function dropSlot (client: pg.Client, slot: string): Promise<void> {
  await client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [slot])
}

/**
 * Where the server's current timeline began (its last promotion), from the timeline history over
 * a replication connection; undefined on timeline 1. A slot confirmed before that point was made
 * before this server was promoted — it survived a demotion and rewind — and has not seen what the
 * other primary wrote meanwhile: it cannot be trusted.
 */
export async function timelineStart (url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, replication: 'database', connectionTimeoutMillis: 5000 } as pg.ClientConfig)
  await client.connect()
  try {
    const identity = await client.query<{ timeline: number | string }>('IDENTIFY_SYSTEM')
    const timeline = Number(identity.rows[0]?.timeline ?? 1)
    if (timeline <= 1) return undefined
    const history = await client.query<{ content: string | Buffer }>(`TIMELINE_HISTORY ${timeline}`)
    const content = history.rows[0]?.content
    const text = Buffer.isBuffer(content) ? content.toString('utf8') : String(content ?? '')
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
    return lines.at(-1)?.split(/\s+/)[1]
  } finally {
    await client.end().catch(() => {})
  }
}

/** Whether a slot confirmed at `confirmed` predates the timeline that began at `start`. */
export function slotPredates (confirmed: string | undefined, start: string | undefined): boolean {
  return confirmed !== undefined && start !== undefined && parseLsn(confirmed) < parseLsn(start)
}

/** WAL the slot holds back: bytes between the primary's current position and what it confirmed. */
export async function slotLagBytes (client: pg.Client, slot: string): Promise<number | undefined> {
  const { rows } = await client.query<{ bytes: number | null }>(
    'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::float8 AS bytes FROM pg_replication_slots WHERE slot_name = $1', [slot])
  return rows[0]?.bytes ?? undefined
}
