import assert from 'node:assert/strict'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { ManualClock } from '../../src/control/clock.js'
import { dcsLeaderSource } from '../../src/data/leader-source.js'
import { parseLsn } from '../../src/data/lsn.js'
import { PgDatabase } from '../../src/data/pg-database.js'
import { OutgrowError } from '../../src/errors/index.js'
import { MemoryDcsStore } from '../../src/ha/dcs/memory.js'
import { adapterLog } from '../../src/runtime/log.js'
import { PostgresServer } from '../../src/supervisor/engines/postgres.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { waitUntil } from '../helpers/wait.js'

/**
 * A failover by hand on real PostgreSQL, the db port following the leader key of the in-memory DCS.
 * `a` is the primary; `b` and `c` stream from it; `d` streams from `b` (cascading). `b` is cut off
 * from `a`, `a` writes on (only `c` gets it: `c` diverges), the key is released, `b` is promoted
 * (`pg_promote()`) and takes the key. `d` follows `b` onto the new timeline; `c` stays on the old one.
 */
adapterLog.level = 'silent'
let engines: TestEngines
let c: PostgresServer
let d: PostgresServer
let store: MemoryDcsStore
let db: PgDatabase
/** Undone in reverse order, whatever part of the setup ran. */
const cleanups: Array<() => Promise<void>> = []
const ports: Record<string, number> = {}

async function sql<Row> (server: PostgresServer, text: string, params: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 2000 })
  await client.connect()
  try {
    return (await client.query(text, params)).rows as Row[]
  } finally {
    await client.end()
  }
}

async function replayed (server: PostgresServer, position: string): Promise<boolean> {
  const rows = await sql<{ lsn: string | null }>(server, 'SELECT pg_last_wal_replay_lsn()::text AS lsn')
  return rows[0]?.lsn != null && parseLsn(rows[0].lsn) >= parseLsn(position)
}

async function moveKey (to: string | undefined): Promise<void> {
  const holder = store.currentLeader()?.name
  if (holder !== undefined) assert.ok(await store.client(holder).deleteLeader(holder))
  if (to !== undefined) assert.ok(await store.client(to).attemptToAcquireLeader(to, 60_000, (await store.client(to).getCluster()).termRevision))
  await new Promise((resolve) => setImmediate(resolve))
}

/** Where a read was served: the server's port, and whether it is a replica. */
async function servedBy (options: { after?: string } = {}): Promise<{ port: number, standby: boolean, seen: boolean }> {
  const rows = await db.read<{ port: number, standby: boolean, seen: boolean }>(
    "SELECT inet_server_port() AS port, pg_is_in_recovery() AS standby, EXISTS (SELECT 1 FROM notes WHERE body = 'before') AS seen", [], options)
  return rows.rows[0] as { port: number, standby: boolean, seen: boolean }
}

before(async () => {
  engines = await startEngines({ replica: true })
  cleanups.push(async () => { await engines.stop() })
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-failover-'))
  cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
  await chmod(dir, 0o755)
  const b = engines.replica as PostgresServer
  c = await PostgresServer.createReplica(engines.primary.options, { name: 'test-replica-c', dataDir: join(dir, 'c'), logFile: join(dir, 'c.log'), port: await freePort(), durable: false })
  cleanups.push(async () => { await c.stop() })
  await c.start()
  d = await PostgresServer.createReplica(b.options, { name: 'test-replica-d', dataDir: join(dir, 'd'), logFile: join(dir, 'd.log'), port: await freePort(), durable: false })
  cleanups.push(async () => { await d.stop() })
  await d.start()
  Object.assign(ports, { a: engines.primary.options.port, b: b.options.port, c: c.options.port, d: d.options.port })
  store = new MemoryDcsStore(new ManualClock())
  assert.ok(await store.client('a').attemptToAcquireLeader('a', 60_000, null))
  db = new PgDatabase(
    { members: { a: engines.primary.url, b: b.url, c: c.url, d: d.url }, leader: { kind: 'dcs', etcd: { hosts: ['http://127.0.0.1:2379'] }, cluster: 'pg' }, replicaPollMs: 10, poolSize: 4 },
    { leaderSource: dcsLeaderSource(store.client('app')) })
  cleanups.push(async () => { await db.close() })
  assert.ok(await waitUntil(async () => await db.write('CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text NOT NULL)').then(() => true, () => false), 10_000))
})
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

test('promotion by hand: writes follow the new leader, positions from before the switch stay valid, a diverged replica serves no read-your-writes', async () => {
  const b = engines.replica as PostgresServer
  const before = await db.write("INSERT INTO notes (body) VALUES ('before')")
  assert.ok(await waitUntil(async () => await replayed(b, before.position) && await replayed(c, before.position) && await replayed(d, before.position), 15_000))

  // b stops receiving a's WAL (its primary_conninfo reloads); what a writes from now on reaches c alone.
  await sql(b, "ALTER SYSTEM SET primary_conninfo = ''")
  await sql(b, 'SELECT pg_reload_conf()')
  assert.ok(await waitUntil(async () => (await sql(b, 'SELECT 1 FROM pg_stat_wal_receiver')).length === 0, 15_000), 'b no longer streams')
  const lost = await db.write("INSERT INTO notes (body) SELECT repeat('x', 200) FROM generate_series(1, 5000)")
  assert.ok(await waitUntil(async () => await replayed(c, lost.position), 15_000), 'c received what b never will')

  // A write in flight on a when its key goes: refused at the change, not when the statement ends.
  const slow = db.write("INSERT INTO notes (body) SELECT 'slow' FROM pg_sleep(3)").then(() => undefined, (err: unknown) => ({ err, at: performance.now() }))
  await new Promise((resolve) => setTimeout(resolve, 200))
  const released = performance.now()
  await moveKey(undefined)
  const failed = await slow
  assert.ok(failed?.err instanceof OutgrowError && failed.err.code === 'OUTGROW_DB_FAILOVER', String(failed?.err))
  assert.ok(failed.at - released < 500, `refused ${Math.round(failed.at - released)} ms after the change`)

  // No leader: writes fail at once, reads keep going to replicas.
  const started = performance.now()
  await assert.rejects(db.write("INSERT INTO notes (body) VALUES ('nobody')"), { code: 'OUTGROW_DB_FAILOVER' })
  assert.ok(performance.now() - started < 100)
  for (let i = 0; i < 4; i++) assert.equal((await servedBy()).standby, true)

  // Promotion: the new timeline starts where b's WAL ended, at or past every position b had replayed.
  assert.deepEqual(await sql(b, 'SELECT pg_promote(true, 30) AS promoted'), [{ promoted: true }])
  const [promoted] = await sql<{ lsn: string, timeline: number }>(b,
    "SELECT pg_current_wal_lsn()::text AS lsn, ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int AS timeline")
  assert.ok(promoted !== undefined && parseLsn(promoted.lsn) >= parseLsn(before.position), `${promoted?.lsn} >= ${before.position}`)
  assert.equal(promoted.timeline, 2)
  await moveKey('b')

  const resumed = await db.write<{ port: number }>("INSERT INTO notes (body) VALUES ('after') RETURNING inet_server_port() AS port")
  assert.equal(resumed.rows[0]?.port, ports.b, 'writes resume on the new leader')
  assert.ok(resumed.position > before.position)
  assert.ok(resumed.position < lost.position, `c claims to have replayed ${resumed.position} (it is at ${lost.position} on the old timeline)`)

  // c has "replayed" past the new write without having it: only b and d (which followed b onto timeline 2) may serve it.
  assert.ok(await waitUntil(async () => await replayed(d, resumed.position), 15_000), 'd follows b onto the new timeline')
  const servers = new Set<number>()
  for (let i = 0; i < 6; i++) {
    const read = await servedBy({ after: resumed.position })
    assert.notEqual(read.port, ports.c, 'the diverged replica served a read-your-writes read')
    servers.add(read.port)
  }
  assert.ok(await waitUntil(async () => (await servedBy({ after: resumed.position })).port === ports.d, 5000, 20), 'd serves reads after the new position')
  const old = await servedBy({ after: before.position })
  assert.ok(old.seen, 'a position from before the switch still reads its write')
  assert.notEqual(old.port, ports.c)
  assert.ok(!servers.has(ports.a as number), 'the deposed leader is not in recovery: it serves no reads')
})
