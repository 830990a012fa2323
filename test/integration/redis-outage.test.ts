import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { adapterLog } from '../../src/runtime/log.js'
import { registry } from '../../src/runtime/metrics.js'
import type { RedisServer } from '../../src/supervisor/engines/redis.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { crash, eventually, restart, timed } from '../helpers/outage.js'
import { ADMIN_TOKEN, Browser, startShop, type ShopUnderTest } from '../helpers/shop.js'

/**
 * `kill -9` of the Redis behind cache, sessions and jobs: product pages keep coming from the
 * database, what needs a session or the queue answers a fast retryable 503 naming the part, a
 * committed order is still returned, and everything works again when Redis is back on its port.
 */
adapterLog.level = 'silent'
let engines: TestEngines
let redis: RedisServer
let shop: ShopUnderTest
/** Sessions in memory, jobs in the Redis queue: checkout gets as far as the enqueue after its commit. */
let memorySessionShop: ShopUnderTest
/** What /readyz answers: each part's state. */
interface Readiness { readonly dependencies: Record<string, unknown> }

before(async () => {
  engines = await startEngines({ redis: true })
  redis = engines.redis as RedisServer
  const jobs = { kind: 'bullmq', url: redis.url, queue: 'outage-jobs', concurrency: 2 } as const
  shop = await startShop({
    primary: engines.primary.url,
    cache: { kind: 'redis', url: redis.url, prefix: 'cache:' },
    session: { kind: 'redis', url: redis.url, ttlSeconds: 3600 },
    jobs,
  })
  memorySessionShop = await startShop({ primary: engines.primary.url, cache: { kind: 'memory', maxEntries: 100 }, session: { kind: 'memory', ttlSeconds: 3600 }, jobs })
})
after(async () => {
  await Promise.all([shop.close(), memorySessionShop.close()])
  await engines.stop()
})

const error = (json: Record<string, unknown>): { code: string, message: string, retryable: boolean } =>
  json.error as { code: string, message: string, retryable: boolean }

async function counter (name: string, labels: Record<string, string>): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? []
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0
}

async function login (app: ShopUnderTest['app'], n: number): Promise<Browser> {
  const browser = new Browser(app)
  assert.equal((await browser.request('POST', '/api/login', { email: `user${n}@example.com`, password: 'password123' })).status, 200)
  return browser
}

test('redis killed: products from the database, sessions and queue 503 fast, still ready; back on its port: all works again', async () => {
  const buyer = await login(shop.app, 1)
  assert.equal((await buyer.request('POST', '/api/cart/items', { productId: 2, qty: 1 })).status, 201)
  const anonymous = new Browser(shop.app)
  assert.equal((await anonymous.request('GET', '/api/products/1')).status, 200)
  const memoryBuyer = await login(memorySessionShop.app, 2)
  assert.equal((await memoryBuyer.request('POST', '/api/cart/items', { productId: 7, qty: 1 })).status, 201)

  await crash(redis)

  for (const url of ['/api/products/1', '/api/products/8', '/api/products?category=books', '/products/9', '/']) {
    const page = await timed(async () => await anonymous.request('GET', url))
    assert.equal(page.value.status, 200, `${url} from the database: ${JSON.stringify(page.value.json)}`)
    assert.ok(page.ms < 1500, `${url} answered in ${page.ms} ms`)
  }
  const withCookie = await buyer.request('GET', '/api/products/10')
  assert.equal(withCookie.status, 200, 'a product page with a session cookie does not load the session')

  const cart = await timed(async () => await buyer.request('GET', '/api/cart'))
  assert.equal(cart.value.status, 503)
  assert.equal(error(cart.value.json).code, 'OUTGROW_DEPENDENCY_UNAVAILABLE')
  assert.equal(error(cart.value.json).retryable, true)
  assert.match(error(cart.value.json).message, /session store \(redis\) unavailable/)
  assert.equal(cart.value.headers['retry-after'], '1')
  assert.ok(cart.ms < 1500, `the session-bound request answered in ${cart.ms} ms`)

  const failedDeletes = await counter('outgrow_cache_errors_total', { operation: 'invalidate' })
  const update = await buyer.request('PUT', '/api/admin/products/11', { priceCents: 1234 }, { authorization: `Bearer ${ADMIN_TOKEN}` })
  assert.equal(update.status, 200, 'a database write whose cache invalidation fails still succeeds')
  // The route's own invalidation, and the product.changed consumer's (the in-process bus): each counted.
  assert.ok(await counter('outgrow_cache_errors_total', { operation: 'invalidate' }) >= failedDeletes + 1, 'the failed invalidation is counted')
  assert.equal((await anonymous.request('GET', '/api/products/11')).json.priceCents, 1234)

  const enqueue = await timed(async () => await memorySessionShop.ports.jobs.enqueue('order.receipt', { orderId: 0 }).then(() => undefined, (err: unknown) => err))
  assert.equal((enqueue.value as { code?: string }).code, 'OUTGROW_DEPENDENCY_UNAVAILABLE')
  assert.match((enqueue.value as Error).message, /job queue outage-jobs \(redis\) unavailable/)
  assert.ok(enqueue.ms < 2500, `enqueue failed in ${enqueue.ms} ms`)
  const order = await memoryBuyer.request('POST', '/api/orders')
  assert.equal(order.status, 201, `a committed order is returned although its receipt job could not be enqueued: ${JSON.stringify(order.json)}`)
  const stored = await shop.db.read<{ status: string }>('SELECT status FROM orders WHERE id = $1', [order.json.id], { primary: true })
  assert.equal(stored.rows[0]?.status, 'placed')

  const readyz = await shop.app.inject({ method: 'GET', url: '/readyz' })
  assert.equal(readyz.statusCode, 200, readyz.body)
  assert.deepEqual(readyz.json<Readiness>().dependencies, { primary: 'up', replicas: [], cache: 'down', jobs: 'down', sessions: 'down' })

  await restart(redis)
  // This Redis keeps nothing on disk: the old session is gone, so the buyer logs in again.
  await eventually(async () => (await buyer.request('GET', '/api/cart')).status === 200 ? true : undefined)
  // Each of the app's Redis clients finds it again within its reconnect back-off (at most 1 s); the
  // login's (sessions, login throttle) may be a moment behind the cart's.
  const again = await eventually(async () => {
    const browser = new Browser(shop.app)
    const answer = await browser.request('POST', '/api/login', { email: 'user1@example.com', password: 'password123' })
    return answer.status === 200 ? browser : undefined
  }, 5000)
  assert.equal((await again.request('POST', '/api/cart/items', { productId: 12, qty: 2 })).status, 201)
  assert.deepEqual(((await again.request('GET', '/api/cart')).json.items as Array<{ productId: number, qty: number }>).map((i) => [i.productId, i.qty]), [[12, 2]])
  const hits = await counter('outgrow_cache_requests_total', { result: 'hit' })
  await anonymous.request('GET', '/api/products/13')
  await anonymous.request('GET', '/api/products/13')
  assert.equal(await counter('outgrow_cache_requests_total', { result: 'hit' }), hits + 1, 'the cache is used again')
  assert.ok((await memorySessionShop.ports.jobs.enqueue('order.receipt', { orderId: Number(order.json.id) }, { jobId: `receipt-${String(order.json.id)}` })).id)
  const receipt = await eventually(async () => {
    const row = await shop.db.read<{ status: string }>('SELECT status FROM orders WHERE id = $1', [order.json.id], { primary: true })
    return row.rows[0]?.status === 'confirmed' ? true : undefined
  })
  assert.equal(receipt, true, 'the worker took the re-enqueued receipt')
  assert.deepEqual((await shop.app.inject({ method: 'GET', url: '/readyz' })).json<Readiness>().dependencies, { primary: 'up', replicas: [], cache: 'up', jobs: 'up', sessions: 'up' })
})
