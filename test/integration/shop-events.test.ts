import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { EventEnvelope } from '../../src/events/bus.js'
import { createProcessedEventsTable, idempotentInTransaction } from '../../src/events/idempotent.js'
import { LISTS_TAG, productKey } from '../../examples/shop/catalog-data.js'
import { ORDER_PLACED, PRODUCT_CHANGED } from '../../examples/shop/events.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { ADMIN_TOKEN, Browser, startShop, type ShopUnderTest } from '../helpers/shop.js'

async function eventually (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`not in time: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('the shop on the event bus (in-process bus, real PostgreSQL)', () => {
  let engines: TestEngines
  let shop: ShopUnderTest
  before(async () => {
    engines = await startEngines()
    shop = await startShop({ primary: engines.primary.url, cache: { kind: 'memory', maxEntries: 1000 }, session: { kind: 'memory', ttlSeconds: 3600 }, products: 20, users: 3 })
  })
  after(async () => {
    await shop?.close()
    await engines?.stop()
  })

  it('an admin price change publishes product.changed with the product as key', async () => {
    const seen: EventEnvelope[] = []
    await shop.events.subscribe(PRODUCT_CHANGED, 'probe-admin', async (event) => { seen.push(event) })
    const res = await shop.app.inject({ method: 'PUT', url: '/api/admin/products/3', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { priceCents: 4321 } })
    assert.equal(res.statusCode, 200)
    await eventually(() => seen.length === 1, 'product.changed published')
    assert.equal(seen[0]?.key, 'product-3')
    assert.deepEqual({ ...seen[0]?.data as Record<string, unknown>, position: undefined, stock: undefined }, { productId: 3, priceCents: 4321, position: undefined, stock: undefined, writtenThrough: true })
    // The consumer keeps what the route wrote through: the new price is served from the cache.
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal((await shop.ports.cache.get<{ priceCents: number }>(productKey(3)))?.priceCents, 4321, 'the written-through product stays cached')
  })

  it('the cache-invalidation consumer drops a product and its lists when product.changed arrives from anywhere', async () => {
    await shop.ports.cache.set(productKey(5), { id: 5, name: 'stale' }, 60)
    await shop.ports.cache.set('products:::1', { items: ['stale'] }, 60, { tags: [LISTS_TAG] })
    await shop.ports.events.publish(PRODUCT_CHANGED, { productId: 5, priceCents: 1, stock: 1, position: '00000000/00000000' }, { key: 'product-5' })
    await eventually(async () => await shop.ports.cache.get(productKey(5)) === undefined, 'the product entry invalidated')
    await eventually(async () => await shop.ports.cache.get('products:::1') === undefined, 'the list invalidated')
  })

  it('a checkout publishes order.placed once it committed, with the order id as event id', async () => {
    const seen: EventEnvelope[] = []
    await shop.events.subscribe(ORDER_PLACED, 'probe-orders', async (event) => { seen.push(event) })
    const browser = new Browser(shop.app)
    assert.equal((await browser.request('POST', '/api/login', { email: 'user1@example.com', password: 'password123' })).status, 200)
    assert.equal((await browser.request('POST', '/api/cart/items', { productId: 2, qty: 1 })).status < 300, true)
    const checkout = await browser.request('POST', '/api/orders')
    assert.equal(checkout.status, 201)
    await eventually(() => seen.length === 1, 'order.placed published')
    const orderId = Number(checkout.json.id)
    assert.equal(seen[0]?.id, `order-placed-${orderId}`)
    assert.equal(seen[0]?.key, `order-${orderId}`)
    assert.deepEqual(seen[0]?.data, { orderId, lines: [{ productId: 2, qty: 1 }] })
  })

  it('the database form of the idempotent consumer applies an event once: a lost ack does not repeat it, a failed handler leaves no trace', async () => {
    await createProcessedEventsTable(shop.db)
    await shop.db.write('CREATE TABLE IF NOT EXISTS event_effects (event_id text NOT NULL, note text NOT NULL)')
    const group = 'effects'
    const deliveries: Array<[unknown, number]> = []
    const apply = idempotentInTransaction(shop.db, group, async (event, tx) => {
      await tx.query('INSERT INTO event_effects (event_id, note) VALUES ($1, $2)', [event.id, JSON.stringify(event.data)])
      // Fails inside the transaction: effect and mark roll back together.
      if (event.data === 'fails-inside' && event.deliveries === 1) throw new Error('handler failed')
    })
    let settled = 0
    await shop.events.subscribe('ledger.entry', group, async (event) => {
      deliveries.push([event.data, event.deliveries])
      try {
        await apply(event)
        // Committed, then the ack is lost (a crash right after the commit): delivered again.
        if (event.data === 'ack-lost' && event.deliveries === 1) throw new Error('crash after commit')
      } finally {
        settled++
      }
    }, { ackWaitMs: 500 })
    const lost = await shop.events.publish('ledger.entry', 'ack-lost')
    const inside = await shop.events.publish('ledger.entry', 'fails-inside')
    // Counted once each delivery's transaction has ended, so the last one's effect is in.
    await eventually(() => deliveries.length === 4 && settled === 4, 'each event delivered twice')
    const rows = await shop.db.read<{ event_id: string, n: string }>('SELECT event_id, count(*) AS n FROM event_effects GROUP BY event_id', [], { primary: true })
    assert.deepEqual(Object.fromEntries(rows.rows.map((r) => [r.event_id, Number(r.n)])), { [lost.id]: 1, [inside.id]: 1 })
    const marks = await shop.db.read<{ n: string }>('SELECT count(*) AS n FROM processed_events WHERE group_name = $1', [group], { primary: true })
    assert.equal(Number(marks.rows[0]?.n), 2)
  })
})
