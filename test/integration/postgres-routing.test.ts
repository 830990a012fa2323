import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { PgDatabase } from '../../src/data/pg-database.js'
import { parseLsn } from '../../src/data/lsn.js'
import { OutgrowError } from '../../src/errors/index.js'
import { registry } from '../../src/runtime/metrics.js'
import { PRIMARY_ONLY_POSITION } from '../../src/runtime/ports.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { waitUntil } from '../helpers/wait.js'

let engines: TestEngines
let db: PgDatabase
/** Straight to the replica, bypassing the adapter: to pause replay and to see what it has. */
let replica: pg.Pool

before(async () => {
  // The replica cancels a query that blocks replay at once, so a recovery conflict can be provoked.
  engines = await startEngines({ replica: true, settings: { max_standby_streaming_delay: '0' } })
  db = new PgDatabase({ primary: engines.primary.url, replicas: [engines.replica?.url as string], poolSize: 4, replicaPollMs: 10 })
  replica = new pg.Pool({ connectionString: engines.replica?.url, max: 2 })
  replica.on('error', () => { /* the last test stops the replica under it */ })
  await db.write('CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text NOT NULL)')
})
after(async () => {
  await replica.end()
  await db.close()
  await engines.stop()
})

/** Resolves once the replica has replayed position (asked directly, not through the tracker). */
async function replicaReached (position: string): Promise<void> {
  const reached = await waitUntil(async () => {
    const { rows } = await replica.query<{ lsn: string }>('SELECT pg_last_wal_replay_lsn()::text AS lsn')
    return parseLsn(rows[0]?.lsn ?? '0/0') >= parseLsn(position)
  }, 10_000, 10)
  assert.ok(reached, `replica did not replay ${position}`)
}

async function routed (reason: string): Promise<number> {
  const metric = (await registry.getSingleMetric('outgrow_db_read_routing_total')?.get())?.values ?? []
  return metric.find((v) => v.labels.reason === reason)?.value ?? 0
}

test('reads go to the replica, which is a real streaming standby', async () => {
  // Give the tracker a moment to learn the replica's position.
  await new Promise((resolve) => setTimeout(resolve, 100))
  const before = await routed('replica')
  const result = await db.read<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')
  assert.equal(result.rows[0]?.standby, true)
  assert.equal(await routed('replica'), before + 1)
  const onPrimary = await db.read<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby', [], { primary: true })
  assert.equal(onPrimary.rows[0]?.standby, false, 'primary: true reads on the primary')
  assert.equal(await routed('replica'), before + 1)
})

test('writes go to the primary and return a write position', async () => {
  const result = await db.write<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')
  assert.equal(result.rows[0]?.standby, false)
  assert.match(result.position, /^[0-9A-F]+\/[0-9A-F]+$/)
})

test('read-your-writes, with replay paused: a read after the write goes to the primary, one without it sees the stale replica', async () => {
  const seed = await db.write('SELECT 1')
  await replicaReached(seed.position)
  await replica.query('SELECT pg_wal_replay_pause()')
  try {
    const written = await db.write<{ id: number }>("INSERT INTO notes (body) VALUES ('while paused') RETURNING id")
    const id = written.rows[0]?.id
    const sql = 'SELECT pg_is_in_recovery() AS standby, (SELECT body FROM notes WHERE id = $1) AS body'
    const mine = await db.read<{ standby: boolean, body: string | null }>(sql, [id], { after: written.position })
    assert.deepEqual(mine.rows[0], { standby: false, body: 'while paused' }, 'the writer reads its write on the primary')
    const anyone = await db.read<{ standby: boolean, body: string | null }>(sql, [id])
    assert.deepEqual(anyone.rows[0], { standby: true, body: null }, 'others read the paused replica, which has not seen it')
  } finally {
    await replica.query('SELECT pg_wal_replay_resume()')
  }
})

test('a replica read cancelled by a recovery conflict is answered by the primary', async () => {
  const created = await db.write('CREATE TABLE IF NOT EXISTS replayed_lock (id int)')
  await replicaReached(created.position)
  // The read holds a lock on the table on the replica while it sleeps; replaying the primary's
  // TRUNCATE needs an exclusive lock, so the replica cancels the read (max_standby_streaming_delay 0).
  const reading = db.read<{ standby: boolean }>(
    'SELECT pg_is_in_recovery() AS standby FROM (SELECT count(*) FROM replayed_lock) c, pg_sleep(1.5)')
  await waitUntil(async () => {
    const { rows } = await replica.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%FROM replayed_lock%' AND state = 'active' AND pid <> pg_backend_pid()")
    return rows.length > 0
  }, 5000, 10)
  await db.write('TRUNCATE replayed_lock')
  const result = await reading
  assert.equal(result.rows[0]?.standby, false, 'retried on the primary')
})

test('a committed write whose position cannot be read succeeds with a position only the primary satisfies', async () => {
  // After COMMIT, the adapter asks for pg_current_wal_lsn(); a function of that name placed
  // before pg_catalog on the search path makes that question fail.
  const { position } = await db.transaction(async (tx) => {
    await tx.query("CREATE FUNCTION public.pg_current_wal_lsn() RETURNS pg_lsn LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'position unavailable'; END $$")
    await tx.query('SET search_path = public, pg_catalog')
    await tx.query("INSERT INTO notes (body) VALUES ('committed, position lost')")
  }).finally(async () => { await db.write('DROP FUNCTION IF EXISTS public.pg_current_wal_lsn()') })
  assert.equal(position, PRIMARY_ONLY_POSITION)
  const found = await db.read("SELECT 1 FROM notes WHERE body = 'committed, position lost'", [], { primary: true })
  assert.equal(found.rowCount, 1, 'the transaction committed')
  await replicaReached((await db.write('SELECT 1')).position)
  await new Promise((resolve) => setTimeout(resolve, 50))
  const read = await db.read<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby', [], { after: position })
  assert.equal(read.rows[0]?.standby, false, 'a caught-up replica still does not satisfy it')
})

test('a transaction commits as a whole or not at all', async () => {
  await assert.rejects(db.transaction(async (tx) => {
    await tx.query("INSERT INTO notes (body) VALUES ('half')")
    await tx.query('SELECT * FROM no_such_table')
  }))
  const found = await db.read("SELECT 1 FROM notes WHERE body = 'half'", [], { primary: true })
  assert.equal(found.rowCount, 0)
  const { value, position } = await db.transaction(async (tx) => (await tx.query<{ n: number }>('SELECT 41 + 1 AS n')).rows[0]?.n)
  assert.equal(value, 42)
  assert.ok(position.includes('/'))
  // A failed statement whose error is caught aborts the transaction: COMMIT then rolls back, and says so.
  await assert.rejects(db.transaction(async (tx) => {
    await tx.query("SET LOCAL application_name = 'caught'")
    await tx.query("INSERT INTO notes (body) VALUES ('caught')")
    await tx.query('SELECT * FROM no_such_table').catch(() => undefined)
  }), (err: unknown) => err instanceof OutgrowError && err.code === 'OUTGROW_INTERNAL' && /rolled back at COMMIT/.test(err.message))
  assert.equal((await db.read("SELECT 1 FROM notes WHERE body = 'caught'", [], { primary: true })).rowCount, 0)
  // A syntax error runs none of the string it is in, not even the BEGIN sent with it: what follows,
  // error caught or not, must not run on its own and commit.
  await assert.rejects(db.transaction(async (tx) => {
    await Promise.allSettled([tx.query('SELEC 1'), tx.query("INSERT INTO notes (body) VALUES ('after a failed begin')")])
    await tx.query("INSERT INTO notes (body) VALUES ('after a failed begin')").catch(() => undefined)
  }), (err: unknown) => err instanceof OutgrowError && err.code === 'OUTGROW_INTERNAL')
  assert.equal((await db.read("SELECT 1 FROM notes WHERE body = 'after a failed begin'", [], { primary: true })).rowCount, 0)
  // Several statements without parameters share one round trip, and the last one answers.
  const shared = await db.transaction(async (tx) => (await tx.query<{ lock_timeout: string }>("SET LOCAL lock_timeout = '2s'; SHOW lock_timeout")).rows[0]?.lock_timeout)
  assert.equal(shared.value, '2s')
})

test('when the replica is gone, reads fall back to the primary', async () => {
  await engines.replica?.stop()
  const result = await db.read<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')
  assert.equal(result.rows[0]?.standby, false)
  // After the tracker notices, the replica is not even tried.
  await new Promise((resolve) => setTimeout(resolve, 200))
  const behind = await routed('replica_behind')
  await db.read('SELECT 1')
  assert.equal(await routed('replica_behind'), behind + 1)
})
