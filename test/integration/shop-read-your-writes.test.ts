import assert from 'node:assert/strict'
import { after, before, beforeEach, afterEach, test } from 'node:test'
import pg from 'pg'
import { parseLsn } from '../../src/data/lsn.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { ADMIN_TOKEN, Browser, startShop, type ShopUnderTest } from '../helpers/shop.js'
import { waitUntil } from '../helpers/wait.js'

/**
 * Read-your-writes over a real replica whose replay is paused: what a buyer reads after a write
 * can only be right if the read went to the primary, and what others read shows the replica
 * really is behind.
 */
let engines: TestEngines
let shop: ShopUnderTest
let replica: pg.Pool

before(async () => {
  engines = await startEngines({ replica: true })
  replica = new pg.Pool({ connectionString: engines.replica?.url, max: 2 })
  replica.on('error', () => {})
  shop = await startShop({ primary: engines.primary.url, replicas: [engines.replica?.url as string], cache: { kind: 'memory', maxEntries: 1000 }, session: { kind: 'memory', ttlSeconds: 3600 } })
})
after(async () => {
  await shop.close()
  await replica.end()
  await engines.stop()
})

beforeEach(async () => {
  // The replica has everything written so far (schema, seed, earlier tests), then stops replaying.
  const { position } = await shop.db.write('SELECT 1')
  const caughtUp = await waitUntil(async () => {
    const { rows } = await replica.query<{ lsn: string }>('SELECT pg_last_wal_replay_lsn()::text AS lsn')
    return parseLsn(rows[0]?.lsn ?? '0/0') >= parseLsn(position)
  }, 10_000, 10)
  assert.ok(caughtUp)
  await new Promise((resolve) => setTimeout(resolve, 100)) // the adapter's tracker polls every 20 ms
  await replica.query('SELECT pg_wal_replay_pause()')
})
afterEach(async () => { await replica.query('SELECT pg_wal_replay_resume()') })

async function login (n: number): Promise<Browser> {
  const browser = new Browser(shop.app)
  assert.equal((await browser.request('POST', '/api/login', { email: `user${n}@example.com`, password: 'password123' })).status, 200)
  return browser
}

async function onReplica (orderId: unknown): Promise<boolean> {
  return (await replica.query('SELECT 1 FROM orders WHERE id = $1', [orderId])).rowCount === 1
}

test('a buyer sees their order at once, though the replica has not replayed it', async () => {
  const buyer = await login(1)
  assert.equal((await buyer.request('POST', '/api/cart/items', { productId: 5, qty: 1 })).status, 201)
  const order = await buyer.request('POST', '/api/orders')
  assert.equal(order.status, 201)
  assert.equal(await onReplica(order.json.id), false, 'the replica is behind')
  const history = await buyer.request('GET', '/api/orders')
  assert.deepEqual((history.json.items as Array<{ id: number }>).map((o) => o.id), [order.json.id])
  assert.equal((await buyer.request('GET', `/api/orders/${String(order.json.id)}`)).status, 200)
})

test('a replayed checkout makes the session that sent it read after the order too', async () => {
  const first = await login(2)
  await first.request('POST', '/api/cart/items', { productId: 6, qty: 1 })
  const order = await first.request('POST', '/api/orders', undefined, { 'idempotency-key': 'from-two-devices' })
  assert.equal(order.status, 201)
  // The same buyer's retry from another session (a second device, a lost cookie).
  const second = await login(2)
  const replay = await second.request('POST', '/api/orders', undefined, { 'idempotency-key': 'from-two-devices' })
  assert.deepEqual([replay.status, replay.json], [order.status, order.json])
  assert.equal(await onReplica(order.json.id), false, 'the replica is behind')
  const history = await second.request('GET', '/api/orders')
  assert.deepEqual((history.json.items as Array<{ id: number }>).map((o) => o.id), [order.json.id])
})

test('right after registering, /api/me answers with the new user, though the replica has not replayed it', async () => {
  const browser = new Browser(shop.app)
  const registered = await browser.request('POST', '/api/register', { email: 'fresh@example.com', password: 'password123', name: 'Fresh' })
  assert.equal(registered.status, 201)
  const me = await browser.request('GET', '/api/me')
  assert.deepEqual(me.json, { id: registered.json.id, email: 'fresh@example.com', name: 'Fresh' })
})

test('after an admin write, the next cached loads of the product and of the lists read at or after it, though the replica is behind', async () => {
  const anyone = new Browser(shop.app)
  const before = await anyone.request('GET', '/api/products/7')
  assert.equal(before.status, 200)
  const listed = async (): Promise<number | undefined> => {
    const page = await anyone.request('GET', '/api/products?q=' + encodeURIComponent(String(before.json.name)))
    return (page.json.items as Array<{ id: number, priceCents: number }>).find((p) => p.id === 7)?.priceCents
  }
  assert.equal(await listed(), before.json.priceCents, 'the list is cached too')
  const price = Number(before.json.priceCents) + 1
  const admin = new Browser(shop.app)
  assert.equal((await admin.request('PUT', '/api/admin/products/7', { priceCents: price }, { authorization: `Bearer ${ADMIN_TOKEN}` })).status, 200)
  const { rows } = await replica.query<{ price_cents: number }>('SELECT price_cents FROM products WHERE id = 7')
  assert.equal(rows[0]?.price_cents, before.json.priceCents, 'the replica is behind')
  assert.equal((await anyone.request('GET', '/api/products/7')).json.priceCents, price, 'not the replica\'s old price')
  assert.equal(await listed(), price)
})
