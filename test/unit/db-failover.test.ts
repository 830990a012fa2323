import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ManualClock } from '../../src/control/clock.js'
import { dcsLeaderSource } from '../../src/data/leader-source.js'
import { formatLsn } from '../../src/data/lsn.js'
import { PgDatabase } from '../../src/data/pg-database.js'
import { OutgrowError } from '../../src/errors/index.js'
import { MemoryDcsStore } from '../../src/ha/dcs/memory.js'
import { adapterLog } from '../../src/runtime/log.js'
import { fakePools, FakeServer } from '../helpers/fake-pg.js'
import { waitUntil } from '../helpers/wait.js'

/**
 * The db port following the leader key of the in-memory DCS over fake servers: a primary `a`,
 * replicas `b` and `c`. Everything here is deterministic except the trackers' 5 ms polls, which
 * are waited for with bounded waits.
 */
adapterLog.level = 'silent'

interface Cluster {
  readonly a: FakeServer
  readonly b: FakeServer
  readonly c: FakeServer
  readonly store: MemoryDcsStore
  db: PgDatabase
  /** The failover window's clock (ms). */
  now: number
  /** Moves the leader key: released by the holder, then taken by `to` (undefined: nobody takes it). */
  move (to: string | undefined): Promise<void>
  close (): Promise<void>
}

async function cluster (): Promise<Cluster> {
  const a = new FakeServer('a')
  const b = new FakeServer('b', { inRecovery: true })
  const c = new FakeServer('c', { inRecovery: true })
  const store = new MemoryDcsStore(new ManualClock())
  assert.ok(await store.client('a').attemptToAcquireLeader('a', 3000, null))
  const self: Cluster = {
    a, b, c, store, now: 1_000_000,
    db: undefined as unknown as PgDatabase,
    move: async (to) => {
      const holder = store.currentLeader()?.name
      if (holder !== undefined) assert.ok(await store.client(holder).deleteLeader(holder))
      if (to !== undefined) assert.ok(await store.client(to).attemptToAcquireLeader(to, 3000, (await store.client(to).getCluster()).termRevision))
      await new Promise((resolve) => setImmediate(resolve))
    },
    close: async () => { await self.db.close() },
  }
  const config = {
    members: { a: 'fake://a', b: 'fake://b', c: 'fake://c' },
    leader: { kind: 'dcs' as const, etcd: { hosts: ['http://127.0.0.1:2379'] }, cluster: 'pg' },
    replicaPollMs: 5,
  }
  self.db = new PgDatabase(config, { leaderSource: dcsLeaderSource(store.client('app'), { resyncMs: 0 }), pools: fakePools(a, b, c), now: () => self.now, failoverWindowMs: 5000 })
  assert.ok(await waitUntil(async () => (await self.db.dependencyStates()).replicas.every((s) => s === 'up'), 2000, 5), 'the trackers polled every member')
  assert.ok(await waitUntil(async () => await self.db.write('INSERT 0').then(() => true, () => false), 2000, 5), 'the leader was read from the DCS')
  return self
}

const isFailover = (pattern: RegExp) => (err: unknown): boolean => {
  assert.ok(err instanceof OutgrowError, String(err))
  assert.equal(err.code, 'OUTGROW_DB_FAILOVER', err.message)
  assert.equal(err.status, 503)
  assert.equal(err.retryable, true)
  assert.equal(err.details?.retryAfterSeconds, 1)
  assert.match(err.message, pattern)
  return true
}

async function timed<T> (work: () => Promise<T>): Promise<number> {
  const started = performance.now()
  await work().catch(() => {})
  return performance.now() - started
}

test('the leader changes: new writes and transactions go to the new primary, with positions it reports', async () => {
  const k = await cluster()
  try {
    const before = await k.db.write('INSERT INTO t VALUES (1)')
    assert.deepEqual(before.rows, [{ server: 'a' }])
    k.b.lsn = k.a.lsn
    k.b.promote()
    await k.move('b')
    const after = await k.db.write('INSERT INTO t VALUES (2)')
    assert.deepEqual(after.rows, [{ server: 'b' }], 'the write went to the new leader')
    assert.ok(after.position > before.position, `${after.position} > ${before.position}`)
    const tx = await k.db.transaction(async (q) => (await q.query<{ server: string }>('INSERT INTO t VALUES (3)')).rows[0]?.server)
    assert.equal(tx.value, 'b')
    assert.deepEqual(k.a.statements.filter((s) => s.includes('VALUES (2)') || s.includes('VALUES (3)')), [], 'nothing reached the old leader')
  } finally {
    await k.close()
  }
})

test('a write in flight on the old primary fails with OUTGROW_DB_FAILOVER as soon as the leader changes, and its connection is closed', async () => {
  const k = await cluster()
  try {
    // The write is lent a client, then its statement hangs; the transaction hangs waiting for a client.
    const settled = (work: Promise<unknown>): Promise<{ error: unknown, at: number }> =>
      work.then(() => ({ error: undefined, at: performance.now() }), (error: unknown) => ({ error, at: performance.now() }))
    const inFlight = settled(k.db.write('INSERT INTO t VALUES (1)'))
    k.a.freeze()
    const txInFlight = settled(k.db.transaction(async (q) => await q.query('INSERT INTO t VALUES (2)')))
    await new Promise((resolve) => setTimeout(resolve, 20))
    const started = performance.now()
    await k.move('b')
    for (const outcome of [await inFlight, await txInFlight]) {
      assert.ok(isFailover(/the leader a lost its key while this ran on a; its outcome is unknown/)(outcome.error))
      assert.ok(outcome.at - started < 100, 'failed at the change, not at a timeout')
    }
    k.a.thaw()
    assert.ok(await waitUntil(async () => k.a.destroyedClients === 2, 1000, 5), `abandoned clients are closed (${k.a.destroyedClients})`)
    k.b.promote()
    assert.deepEqual((await k.db.write('INSERT INTO t VALUES (3)')).rows, [{ server: 'b' }])
  } finally {
    k.a.thaw()
    await k.close()
  }
})

test('no leader: writes, transactions and primary reads fail at once with OUTGROW_DB_FAILOVER; nothing is sent', async () => {
  const k = await cluster()
  try {
    await k.move(undefined)
    const sent = k.a.statements.length
    assert.ok(await timed(async () => await assert.rejects(k.db.write('INSERT INTO t VALUES (1)'), isFailover(/no leader: a failover is under way/))) < 50)
    await assert.rejects(k.db.transaction(async () => 1), isFailover(/no leader/))
    await assert.rejects(k.db.read('SELECT 1', [], { primary: true }), isFailover(/no leader/))
    assert.equal(k.a.statements.length, sent)
    assert.equal((await k.db.dependencyStates()).primary, 'down')
  } finally {
    await k.close()
  }
})

test('reads keep going to replicas throughout the failover; the old leader serves reads once it is in recovery', async () => {
  const k = await cluster()
  try {
    const servedBy = async (options = {}): Promise<string> => (await k.db.read<{ server: string }>('SELECT 1', [], options)).rows[0]?.server as string
    const spread = async (n: number): Promise<Set<string>> => { const s = new Set<string>(); for (let i = 0; i < n; i++) s.add(await servedBy()); return s }
    assert.deepEqual(await spread(4), new Set(['b', 'c']))
    const written = await k.db.write('INSERT INTO t VALUES (1)')
    k.a.freeze()
    await k.move(undefined)
    assert.deepEqual(await spread(4), new Set(['b', 'c']), 'no leader: replicas answer')
    k.b.lsn = k.a.lsn
    k.c.lsn = k.a.lsn
    assert.ok(await waitUntil(async () => ['b', 'c'].includes(await servedBy({ after: written.position }).catch(() => '')), 1000, 5), 'a read-your-writes read is served by a replica that replayed it')
    await k.move('b')
    k.b.promote()
    assert.deepEqual(await spread(4), new Set(['c']), 'the new leader takes writes; the other replica the reads')
    k.a.thaw()
    k.a.inRecovery = true
    k.a.timeline = k.b.timeline
    assert.ok(await waitUntil(async () => (await spread(4)).has('a'), 1000, 5), 'the old leader is a replica again')
  } finally {
    k.a.thaw()
    await k.close()
  }
})

test('a new leader that refuses writes or cannot be reached within the window: OUTGROW_DB_FAILOVER; later, the primary\'s own 503', async () => {
  const k = await cluster()
  try {
    await k.move('b')
    await assert.rejects(k.db.write('INSERT INTO t VALUES (1)'), isFailover(/b became the leader 0 ms ago and is not writable yet/))
    k.b.promote()
    k.b.down = true
    k.now += 1000
    await assert.rejects(k.db.write('INSERT INTO t VALUES (2)'), isFailover(/b became the leader 1000 ms ago and could not be reached/))
    k.now += 5000
    await assert.rejects(k.db.write('INSERT INTO t VALUES (3)'), { code: 'OUTGROW_DB_UNAVAILABLE', message: 'database primary unavailable' })
    k.b.down = false
    k.b.fenced = true
    await assert.rejects(k.db.write('INSERT INTO t VALUES (4)'), isFailover(/the leader b refuses writes \(fenced, or not promoted yet\)/))
  } finally {
    await k.close()
  }
})

test('read-your-writes across a timeline change: a replica still on the old timeline serves no read that must see a position', async () => {
  const k = await cluster()
  try {
    // c went on receiving a's WAL past the switch point: it claims positions b wrote at without their writes.
    k.c.lsn = k.a.lsn + 0x10000n
    k.b.lsn = k.a.lsn
    k.b.promote()
    await k.move('b')
    const written = await k.db.write('INSERT INTO t VALUES (1)')
    assert.ok(written.position < formatLsn(k.c.lsn), 'c claims to have replayed the new write')
    await new Promise((resolve) => setTimeout(resolve, 30))
    assert.deepEqual((await k.db.read('SELECT 1', [], { after: written.position })).rows, [{ server: 'b' }], 'read on the new primary, not on c')
    assert.deepEqual((await k.db.read('SELECT 1')).rows, [{ server: 'c' }], 'a read without a position may still go to c')
    k.c.timeline = k.b.timeline
    k.c.lsn = k.b.lsn
    assert.ok(await waitUntil(async () => (await k.db.read<{ server: string }>('SELECT 1', [], { after: written.position })).rows[0]?.server === 'c', 1000, 5), 'once c follows the new timeline it serves it')
  } finally {
    await k.close()
  }
})

test('the plain primary form keeps its behaviour: a read-only primary is an error of its own, not a failover', async () => {
  const a = new FakeServer('a')
  const db = new PgDatabase({ primary: 'fake://a' }, { pools: fakePools(a) })
  try {
    assert.deepEqual((await db.write('INSERT INTO t VALUES (1)')).rows, [{ server: 'a' }])
    a.fenced = true
    await assert.rejects(db.write('INSERT INTO t VALUES (2)'), { code: '25006' })
    a.down = true
    await assert.rejects(db.write('INSERT INTO t VALUES (3)'), { code: 'OUTGROW_DB_UNAVAILABLE' })
  } finally {
    await db.close()
  }
})
