import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { EventEnvelope } from '../../src/events/bus.js'
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
    assert.deepEqual({ ...seen[0]?.data as Record<string, unknown>, position: undefined, stock: undefined }, { productId: 3, priceCents: 4321, position: undefined, stock: undefined })
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
})
