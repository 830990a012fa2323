import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { adapterLog } from '../../src/runtime/log.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { crash, eventually, restart, timed } from '../helpers/outage.js'
import { ADMIN_TOKEN, Browser, startShop, type ShopUnderTest } from '../helpers/shop.js'

/**
 * `kill -9` of the PostgreSQL primary with a streaming replica running: the instance stays
 * ready, serves what the replica can, refuses writes fast with a retryable 503 naming the
 * primary, and recovers by itself when the primary is back on the same port.
 */
adapterLog.level = 'silent'
let engines: TestEngines
let shop: ShopUnderTest
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
/** What /readyz answers: each part's state. */
interface Readiness { readonly dependencies: Record<string, unknown> }

before(async () => {
  engines = await startEngines({ replica: true })
  shop = await startShop({
    primary: engines.primary.url,
    replicas: [engines.replica?.url as string],
    // In-process cache and sessions: this test is about the database alone.
    cache: { kind: 'memory', maxEntries: 1000 },
    session: { kind: 'memory', ttlSeconds: 3600 },
  })
})
after(async () => {
  await shop.close()
  await engines.stop()
})

const error = (json: Record<string, unknown>): { code: string, message: string, retryable: boolean } =>
  json.error as { code: string, message: string, retryable: boolean }

test('primary killed: reads from the replica, writes 503 fast, still ready; back on its port: writes work again', async () => {
  const buyer = new Browser(shop.app)
  assert.equal((await buyer.request('POST', '/api/login', { email: 'user1@example.com', password: 'password123' })).status, 200)
  await buyer.request('POST', '/api/cart/items', { productId: 3, qty: 1 })
  const placed = await buyer.request('POST', '/api/orders')
  assert.equal(placed.status, 201)
  const ready = await shop.app.inject({ method: 'GET', url: '/readyz' })
  assert.deepEqual(ready.json<Readiness>().dependencies, { primary: 'up', replicas: ['up'] })
  // The replica must have replayed everything (the order, its receipt) before the primary dies,
  // or no one could serve this buyer's read-your-writes reads.
  const latest = await shop.db.write('SELECT 1')
  const replica = new pg.Client({ connectionString: engines.replica?.url })
  await replica.connect()
  await eventually(async () => {
    const replayed = await replica.query<{ caught_up: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS caught_up', [latest.position])
    return replayed.rows[0]?.caught_up === true ? true : undefined
  }).finally(async () => { await replica.end() })

  await crash(engines.primary)

  const product = await timed(async () => await buyer.request('GET', '/api/products/42'))
  assert.equal(product.value.status, 200, 'a product page comes from the replica')
  assert.equal((await shop.app.inject({ method: 'GET', url: '/products/43' })).statusCode, 200)
  const history = await buyer.request('GET', '/api/orders')
  assert.equal(history.status, 200, `read-your-writes served by a replica that has replayed the write: ${JSON.stringify(history.json)}`)
  assert.ok((history.json.items as Array<{ id: number }>).some((o) => o.id === placed.json.id))
  assert.equal((await buyer.request('POST', '/api/cart/items', { productId: 4, qty: 1 })).status, 201, 'the cart needs no primary')

  for (const [method, url, body] of [['POST', '/api/orders', undefined], ['PUT', '/api/admin/products/5', { stock: 9 }]] as const) {
    const write = await timed(async () => await buyer.request(method, url, body, admin))
    assert.equal(write.value.status, 503, `${method} ${url}: ${JSON.stringify(write.value.json)}`)
    assert.equal(error(write.value.json).code, 'OUTGROW_DB_UNAVAILABLE')
    assert.equal(error(write.value.json).retryable, true)
    assert.match(error(write.value.json).message, /primary/)
    assert.equal(write.value.headers['retry-after'], '1')
    assert.ok(write.ms < 3000, `${method} ${url} answered in ${write.ms} ms`)
  }
  await assert.rejects(shop.db.read('SELECT 1', [], { after: 'FFFFFFF/0' }), (err: { code?: string, message?: string }) =>
    err.code === 'OUTGROW_DB_UNAVAILABLE' && /no replica has replayed/.test(err.message ?? ''))

  const readyz = await shop.app.inject({ method: 'GET', url: '/readyz' })
  assert.equal(readyz.statusCode, 200, readyz.body)
  assert.deepEqual(readyz.json<Readiness>().dependencies, { primary: 'down', replicas: ['up'] })

  await restart(engines.primary)
  const recovered = await eventually(async () => {
    const res = await buyer.request('PUT', '/api/admin/products/5', { stock: 9 }, admin)
    return res.status === 200 ? res : undefined
  })
  assert.equal(recovered.json.stock, 9)
  assert.equal((await buyer.request('POST', '/api/orders')).status, 201, 'checkout works again without restarting the app')
  assert.equal((await shop.app.inject({ method: 'GET', url: '/readyz' })).json<Readiness>().dependencies.primary, 'up')
})
