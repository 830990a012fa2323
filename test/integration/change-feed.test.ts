import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { Redis } from 'ioredis'
import pg from 'pg'
import { TieredCache } from '../../src/cache/tiered-cache.js'
import type { ChangeStreamCache } from '../../src/cache/full-flush.js'
import { ChangeFeed } from '../../src/data/change-feed.js'
import { tableRules } from '../../src/data/change-rules.js'
import { slotPredates, timelineStart } from '../../src/data/change-slot.js'
import { registry } from '../../src/runtime/metrics.js'
import type { Invalidation, Logger } from '../../src/runtime/ports.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { psql as psqlAt } from '../helpers/psql.js'
import { waitUntil } from '../helpers/wait.js'

/**
 * The change feed on real PostgreSQL and Redis: a row changed by psql — not by the application —
 * leaves the cache on every instance; a consumer that dies before confirming leaves the change to
 * the next; a slot that has to be made again (a new primary) flushes the whole cache.
 */
let engines: TestEngines
let raw: Redis
let admin: pg.Client
let prefixes = 0

before(async () => {
  engines = await startEngines({ redis: true })
  raw = new Redis(engines.redis?.url ?? '')
  admin = new pg.Client({ connectionString: engines.primary.url })
  await admin.connect()
  await admin.query(`CREATE TABLE products (id serial PRIMARY KEY, name text NOT NULL, price_cents int NOT NULL);
    INSERT INTO products (name, price_cents) SELECT 'product ' || i, 100 * i FROM generate_series(1, 10) i`)
})
after(async () => {
  raw?.disconnect()
  await admin?.end()
  await engines?.stop()
})

/** The real psql binary, beside the server binaries the engines use. */
async function psql (sql: string): Promise<void> {
  await psqlAt(engines.primary.url, sql)
}

const lines: string[] = []
const log: Logger = {
  info: (_obj, msg) => { lines.push(msg ?? '') },
  warn: (_obj, msg) => { lines.push(msg ?? '') },
  error: (_obj, msg) => { lines.push(msg ?? '') },
}

const productKey = (id: unknown): string => `product:${String(id)}`
const tables = tableRules({ products: ({ row }: { row: Readonly<Record<string, unknown>> }) => ({ keys: [productKey(row.id)], tags: ['product-lists'] }) })

function feed (slot: string, cache: ChangeStreamCache): ChangeFeed {
  const f = new ChangeFeed({ slot, publication: `${slot}_pub`, tables, cache, primaryUrl: () => engines.primary.url, log, retry: { minMs: 20, maxMs: 200 }, lagPollMs: 50 })
  f.start()
  return f
}

async function tiers (): Promise<{ a: TieredCache, b: TieredCache, prefix: string }> {
  const prefix = `cf${++prefixes}:`
  const options = { l1MaxEntries: 100, ttl: { graceSeconds: 0, jitter: 0 }, leases: { ms: 5000, waitMs: 1000 } }
  const a = new TieredCache(engines.redis?.url ?? '', prefix, options)
  const b = new TieredCache(engines.redis?.url ?? '', prefix, options)
  await Promise.all([a.ready(), b.ready()])
  return { a, b, prefix }
}

async function price (cache: TieredCache, id: number): Promise<number> {
  return await cache.wrap(productKey(id), 600, async () => {
    const { rows } = await admin.query<{ price_cents: number }>('SELECT price_cents FROM products WHERE id = $1', [id])
    return rows[0]?.price_cents ?? -1
  })
}

async function metric (name: string, labels: Record<string, string> = {}): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name)
  const values = (found?.values ?? []) as Array<{ value: number, labels: Record<string, string | number> }>
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0)
}

async function confirmedLsn (slot: string): Promise<string> {
  const { rows } = await admin.query<{ lsn: string }>('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [slot])
  return rows[0]?.lsn ?? ''
}

test('an UPDATE made by psql invalidates a value cached through wrap, in Redis and in the other instance\'s L1', async (t) => {
  const { a, b } = await tiers()
  const consumer = feed('feed_psql', a)
  t.after(async () => { await consumer.close(); await a.close(); await b.close() })
  assert.ok(await waitUntil(async () => consumer.active, 10_000), 'the feed streams')
  assert.equal(await price(a, 1), 100)
  assert.equal(await price(b, 1), 100, 'b holds it too (Redis, then its L1)')
  // Another path writes: the application invalidates nothing.
  await admin.query('UPDATE products SET price_cents = 100 WHERE id = 1')
  const invalidationsBefore = await metric('outgrow_change_feed_invalidations_total', { kind: 'key' })
  await psql('UPDATE products SET price_cents = 150 WHERE id = 1')
  const started = Date.now()
  assert.ok(await waitUntil(async () => await price(b, 1) === 150, 10_000, 5), 'b loads the new price')
  const seenMs = Date.now() - started
  assert.equal(await price(a, 1), 150)
  assert.ok(await metric('outgrow_change_feed_invalidations_total', { kind: 'key' }) > invalidationsBefore)
  assert.ok(await waitUntil(async () => await metric('outgrow_change_feed_lag_seconds') === 0, 5000), 'nothing waits')
  // A primary that shuts down (a switchover) waits until each logical walsender's confirmed
  // position equals what it sent: one byte more or less would hold the shutdown forever.
  const caughtUp = async (): Promise<boolean> => (await admin.query<{ equal: boolean }>(
    `SELECT r.sent_lsn = r.flush_lsn AS equal FROM pg_stat_replication r
       JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = 'feed_psql'`)).rows[0]?.equal === true
  assert.ok(await waitUntil(caughtUp, 10_000), 'confirmed exactly what was sent')
  t.diagnostic(`psql UPDATE seen by the other instance after ${seenMs} ms`)
})

test('a DELETE invalidates by the old row\'s key, and one consumer streams while a second waits for the slot', async (t) => {
  const { a, b } = await tiers()
  const first = feed('feed_pair', a)
  t.after(async () => { await first.close(); await a.close(); await b.close() })
  assert.ok(await waitUntil(async () => first.active, 10_000))
  const busyBefore = await metric('outgrow_change_feed_restarts_total', { reason: 'slot_busy' })
  const second = feed('feed_pair', b)
  t.after(async () => { await second.close() })
  assert.ok(await waitUntil(async () => await metric('outgrow_change_feed_restarts_total', { reason: 'slot_busy' }) > busyBefore + 1, 10_000), 'the second is refused')
  assert.equal(second.active, false)
  await admin.query('INSERT INTO products (id, name, price_cents) VALUES (100, \'doomed\', 1)')
  assert.equal(await price(b, 100), 1)
  await psql('DELETE FROM products WHERE id = 100')
  assert.ok(await waitUntil(async () => await price(b, 100) === -1, 10_000, 5), 'the deleted row is gone from the cache')
  await first.close()
  assert.ok(await waitUntil(async () => second.active, 10_000), 'the second takes over once the first is gone')
})

test('a consumer that dies between receiving a change and confirming it leaves the change to the next one', async (t) => {
  const received: Invalidation[] = []
  const stuck: ChangeStreamCache = {
    invalidateConfirmed: async (what) => { received.push(what); await new Promise(() => {}) },
    flushAll: async () => {},
  }
  const dying = feed('feed_replay', stuck)
  t.after(async () => { await dying.close() })
  assert.ok(await waitUntil(async () => dying.active, 10_000))
  await psql('UPDATE products SET price_cents = 201 WHERE id = 2')
  const { rows } = await admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')
  assert.ok(await waitUntil(async () => received.length > 0, 10_000), 'received')
  assert.deepEqual(received[0]?.keys, [productKey(2)])
  const { rows: behind } = await admin.query<{ behind: boolean }>('SELECT $1::pg_lsn > $2::pg_lsn AS behind', [rows[0]?.lsn, await confirmedLsn('feed_replay')])
  assert.equal(behind[0]?.behind, true, 'the slot has not confirmed the update')
  await dying.close()

  const replayed: Invalidation[] = []
  const next = feed('feed_replay', { invalidateConfirmed: async (what) => { replayed.push(what) }, flushAll: async () => {} })
  t.after(async () => { await next.close() })
  assert.ok(await waitUntil(async () => replayed.some((w) => w.keys?.includes(productKey(2)) === true), 10_000), 'sent again to the next consumer')
  const confirmedPast = async (): Promise<boolean> => (await admin.query<{ done: boolean }>('SELECT $1::pg_lsn <= $2::pg_lsn AS done', [rows[0]?.lsn, await confirmedLsn('feed_replay')])).rows[0]?.done === true
  assert.ok(await waitUntil(confirmedPast, 10_000), 'confirmed once applied')
})

test('a missing slot (a new primary after a failover) is made again and every cache entry is flushed, on every instance', async (t) => {
  const { a, b, prefix } = await tiers()
  const consumer = feed('feed_failover', a)
  assert.ok(await waitUntil(async () => consumer.active, 10_000))
  await consumer.close()
  // What a promoted standby looks like to the feed: no slot.
  await admin.query('SELECT pg_drop_replication_slot(\'feed_failover\')')
  await a.set('unrelated', 'cached before', 600)
  assert.equal(await price(b, 3), 300)
  assert.equal(await b.get('unrelated'), 'cached before', 'in b\'s L1')
  // A change while no slot exists: nothing will ever report it.
  await psql('UPDATE products SET price_cents = 333 WHERE id = 3')
  const flushesBefore = await metric('outgrow_change_feed_full_flushes_total', { reason: 'slot_created' })
  lines.length = 0
  const again = feed('feed_failover', a)
  t.after(async () => { await again.close(); await a.close(); await b.close() })
  assert.ok(await waitUntil(async () => again.active, 10_000))
  assert.equal(await metric('outgrow_change_feed_full_flushes_total', { reason: 'slot_created' }), flushesBefore + 1)
  assert.ok(lines.some((l) => l.includes('every cache entry was flushed')), lines.join('\n'))
  assert.equal(await b.get('unrelated'), undefined, 'gone from b\'s L1')
  assert.equal(await price(b, 3), 333, 'the missed change is loaded afresh')
  assert.deepEqual((await raw.keys(`${prefix}*`)).filter((k) => k.includes('unrelated')), [])
})

test('a slot confirmed before the server\'s last promotion is told apart by the timeline history (it missed the other primary\'s writes)', async () => {
  const pair = await startEngines({ replica: true })
  const promoted = new pg.Client({ connectionString: pair.replica?.url })
  try {
    assert.equal(await timelineStart(pair.primary.url), undefined, 'timeline 1 began with the cluster')
    await promoted.connect()
    await promoted.query('SELECT pg_promote(true, 30)')
    const start = await timelineStart(pair.replica?.url ?? '')
    assert.ok(start !== undefined, 'timeline 2 has a start')
    const { rows } = await promoted.query<{ now: string }>('SELECT pg_current_wal_lsn()::text AS now')
    assert.equal(slotPredates(rows[0]?.now, start), false, 'a slot made after the promotion')
    assert.equal(slotPredates('0/1000000', start), true, 'a slot from before it')
  } finally {
    await promoted.end().catch(() => {})
    await pair.stop()
  }
})
