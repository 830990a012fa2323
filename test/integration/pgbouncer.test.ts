import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { PgDatabase } from '../../src/data/pg-database.js'
import type { PgBouncer } from '../../src/supervisor/engines/pgbouncer.js'
import { startEngines, startPgBouncer, type TestEngines } from '../helpers/engines.js'

const MAX_CONNECTIONS = 30
const POOL_SIZE = 10

let engines: TestEngines
let bouncer: PgBouncer
let replicaBouncer: PgBouncer
const stops: Array<() => Promise<void>> = []

before(async () => {
  engines = await startEngines({ replica: true, settings: { max_connections: String(MAX_CONNECTIONS) } })
  stops.push(engines.stop)
  const primary = await startPgBouncer(engines.primary, { poolSize: POOL_SIZE })
  stops.unshift(primary.stop)
  bouncer = primary.bouncer
  const replica = await startPgBouncer(engines.replica as NonNullable<TestEngines['replica']>, { poolSize: POOL_SIZE })
  stops.unshift(replica.stop)
  replicaBouncer = replica.bouncer
})
after(async () => {
  for (const stop of stops) await stop()
})

async function serverConnections (): Promise<number> {
  const client = new pg.Client({ connectionString: engines.primary.url })
  await client.connect()
  try {
    const result = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
    return (result.rows[0] as { n: number }).n
  } finally {
    await client.end()
  }
}

test(`200 concurrent clients all get answers through PgBouncer, PostgreSQL allowing ${MAX_CONNECTIONS} connections`, async () => {
  const direct = new pg.Client({ connectionString: engines.primary.url })
  await direct.connect()
  assert.equal((await direct.query<{ max_connections: string }>('SHOW max_connections')).rows[0]?.max_connections, String(MAX_CONNECTIONS))
  await direct.end()
  // Without the pooler, the server turns clients away beyond its limit.
  const directs = Array.from({ length: MAX_CONNECTIONS + 5 }, () => new pg.Client({ connectionString: engines.primary.url }))
  const connected = await Promise.allSettled(directs.map(async (c) => { await c.connect() }))
  await Promise.all(directs.map(async (c) => { await c.end().catch(() => {}) }))
  assert.ok(connected.some((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === '53300'), 'PostgreSQL accepted more clients than max_connections')

  const clients = Array.from({ length: 200 }, () => new pg.Client({ connectionString: bouncer.url }))
  try {
    await Promise.all(clients.map(async (c) => { await c.connect() }))
    let peak = 0
    const watching = (async () => {
      for (let i = 0; i < 5; i++) {
        peak = Math.max(peak, await serverConnections())
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    })()
    const answers = await Promise.all(clients.map(async (c, i) => {
      const result = await c.query<{ i: number }>('SELECT $1::int AS i, pg_sleep(0.05)', [i])
      return result.rows[0]?.i
    }))
    await watching
    assert.deepEqual(answers, clients.map((_, i) => i))
    assert.ok(peak <= POOL_SIZE, `PgBouncer opened ${peak} server connections, more than its pool of ${POOL_SIZE}`)
  } finally {
    await Promise.all(clients.map(async (c) => { await c.end().catch(() => {}) }))
  }
})

test('the PgDatabase adapter works through PgBouncer: transactions keep one server connection, reads see writes', async () => {
  const db = new PgDatabase({ primary: bouncer.url, replicas: [replicaBouncer.url], poolSize: 8, replicaPollMs: 10 })
  try {
    await db.write('CREATE TABLE IF NOT EXISTS pooled_notes (id serial PRIMARY KEY, tx int NOT NULL, body text NOT NULL)')
    // Uncommitted rows are visible only on the server connection that wrote them: a transaction
    // moved between server connections would not see its own rows.
    const seen = await Promise.all(Array.from({ length: 20 }, async (_, tx) => await db.transaction(async (q) => {
      await q.query('INSERT INTO pooled_notes (tx, body) VALUES ($1, $2), ($1, $2)', [tx, `note ${tx}`])
      await q.query('SELECT pg_sleep(0.01)')
      const mine = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM pooled_notes WHERE tx = $1', [tx])
      return mine.rows[0]?.n
    })))
    assert.deepEqual(seen.map((s) => s.value), Array(20).fill(2))
    await assert.rejects(db.transaction(async (q) => {
      await q.query("INSERT INTO pooled_notes (tx, body) VALUES (-1, 'rolled back')")
      throw new Error('abort')
    }), /abort/)
    const { position } = await db.transaction(async (q) => await q.query("INSERT INTO pooled_notes (tx, body) VALUES (99, 'last')"))
    const read = await db.read<{ n: number }>('SELECT count(*)::int AS n FROM pooled_notes WHERE tx IN (-1, 99)', [], { after: position })
    assert.equal(read.rows[0]?.n, 1)
    // The replica tracker polls through the replica's PgBouncer: reads reach the standby.
    await new Promise((resolve) => setTimeout(resolve, 100))
    const standby = await db.read<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')
    assert.equal(standby.rows[0]?.standby, true)
  } finally {
    await db.close()
  }
})

test('PgBouncer killed with SIGKILL and started again on the same port serves the same clients', async () => {
  const pool = new pg.Pool({ connectionString: bouncer.url, max: 4 })
  pool.on('error', () => {})
  try {
    assert.equal((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one, 1)
    const port = bouncer.options.port
    bouncer.process.kill('SIGKILL')
    await bouncer.process.exited()
    await assert.rejects(pool.query('SELECT 1'))
    await bouncer.start()
    assert.equal(bouncer.options.port, port)
    // The pool dropped its broken connections; new ones reach the restarted PgBouncer.
    const again = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pooled_notes')
    assert.ok((again.rows[0]?.n ?? 0) > 0)
  } finally {
    await pool.end()
  }
})
