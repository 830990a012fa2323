/**
 * The one client both systems get: it knows the three PostgreSQL addresses and nothing of the HA
 * layer, as an application with a libpq multi-host connection string would.
 *
 *   writer  one INSERT every 20 ms to the writable primary (target_session_attrs=read-write: try the
 *           nodes in turn, keep the first that is neither in recovery nor read-only), logging every
 *           acknowledged id with the time the acknowledgement arrived
 *   reader  one read every 50 ms on a replica (target_session_attrs=standby), counting failures
 */
import pg from 'pg'

export interface DbNode { readonly name: string, readonly url: string }
/** One acknowledged INSERT: sent at `sentAt`, its acknowledgement received at `at` (epoch ms). */
export interface Ack { readonly id: number, readonly node: string, readonly sentAt: number, readonly at: number }

export interface Writer {
  readonly acks: Ack[]
  /** INSERTs that failed or timed out (not acknowledged: they may or may not have committed). */
  failures: number
  /** The next id it would have used. */
  nextId: number
  stop(): Promise<void>
}

export interface Reader {
  reads: number
  readonly failures: number[]
  /** The longest a successful read took, connecting included (a dead replica's connect timeout shows here). */
  slowestMs: number
  stop(): Promise<void>
}

const CONNECT_TIMEOUT_MS = 500
// Client-side only. A server-side statement_timeout would be wrong for the writer: PostgreSQL turns
// a cancel that arrives while a commit waits for its synchronous standby into a WARNING and
// reports the commit as successful, so a timed-out write would be acknowledged without being
// replicated. A client that gives up and drops the connection never counts it as acknowledged.
const QUERY_TIMEOUT_MS = 1000

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))) }

type Wanted = 'read-write' | 'standby'

/** The first node, from `start` on, that has the role wanted, with an open session; null if none. */
async function connectTo (nodes: readonly DbNode[], start: number, wanted: Wanted): Promise<{ client: pg.Client, index: number } | null> {
  for (let k = 0; k < nodes.length; k++) {
    const index = (start + k) % nodes.length
    const client = new pg.Client({ connectionString: (nodes[index] as DbNode).url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, query_timeout: QUERY_TIMEOUT_MS })
    client.on('error', () => {})
    try {
      await client.connect()
      const { rows } = await client.query<{ recovery: boolean, ro: string }>("SELECT pg_is_in_recovery() AS recovery, current_setting('transaction_read_only') AS ro")
      const row = rows[0]
      const fits = wanted === 'standby' ? row?.recovery === true : row?.recovery === false && row.ro === 'off'
      if (fits) return { client, index }
    } catch {}
    void client.end().catch(() => {})
  }
  return null
}

/** Ticks every periodMs; a tick that ran late does not cause a burst of catch-up ticks. */
async function every (periodMs: number, running: () => boolean, tick: () => Promise<void>): Promise<void> {
  let next = Date.now()
  while (running()) {
    await sleep(next - Date.now())
    next = Math.max(next + periodMs, Date.now())
    await tick()
  }
}

export function startWriter (nodes: readonly DbNode[], firstId: number, periodMs = 20): Writer {
  const writer: Writer = { acks: [], failures: 0, nextId: firstId, stop: async () => {} }
  let running = true
  let session: { client: pg.Client, index: number } | null = null
  let start = 0
  const loop = every(periodMs, () => running, async () => {
    session ??= await connectTo(nodes, start, 'read-write')
    if (session === null) { writer.failures++; return }
    const id = writer.nextId++
    const sentAt = Date.now()
    try {
      await session.client.query('INSERT INTO acks (id) VALUES ($1)', [id])
      writer.acks.push({ id, node: (nodes[session.index] as DbNode).name, sentAt, at: Date.now() })
    } catch {
      writer.failures++
      start = session.index + 1
      void session.client.end().catch(() => {})
      session = null
    }
  })
  writer.stop = async () => {
    running = false
    await loop
    await session?.client.end().catch(() => {})
  }
  return writer
}

export function startReader (nodes: readonly DbNode[], periodMs = 50): Reader {
  const reader: Reader = { reads: 0, failures: [], slowestMs: 0, stop: async () => {} }
  let running = true
  let session: { client: pg.Client, index: number } | null = null
  let start = 1
  const loop = every(periodMs, () => running, async () => {
    reader.reads++
    const began = Date.now()
    session ??= await connectTo(nodes, start, 'standby')
    const current = session
    if (current === null) { reader.failures.push(Date.now()); return }
    let keep = false
    try {
      const { rows } = await current.client.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery, max(id) AS last FROM acks')
      // The read succeeded; a replica promoted under it is left for a replica at the next read.
      keep = rows[0]?.recovery === true
      reader.slowestMs = Math.max(reader.slowestMs, Date.now() - began)
    } catch {
      reader.failures.push(Date.now())
      start = current.index + 1
    }
    if (!keep) {
      void current.client.end().catch(() => {})
      session = null
    }
  })
  reader.stop = async () => {
    running = false
    await loop
    await session?.client.end().catch(() => {})
  }
  return reader
}
