import assert from 'node:assert/strict'
import pg from 'pg'
import { after, before, describe, it } from 'node:test'
import type { CacheConfig, SessionConfig } from '../../src/config/process-config.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { dbQueries } from '../../src/runtime/metrics.js'
import { ADMIN_TOKEN, Browser, startShop, type ShopUnderTest } from '../helpers/shop.js'
import { PAGE_SIZE } from '../../examples/shop/catalog-data.js'

/** Queries sent to the primary so far, by this process. */
async function primaryReads (): Promise<number> {
  return (await dbQueries.get()).values.filter((v) => v.labels.target === 'primary').reduce((sum, v) => sum + v.value, 0)
}

let engines: TestEngines
before(async () => { engines = await startEngines({ redis: true }) })
after(async () => { await engines.stop() })

async function eventually<T> (probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** The same behaviour with in-process adapters (levels 1–2) and Redis adapters (levels 3–4). */
for (const variant of ['memory', 'redis'] as const) {
  describe(`shop API with ${variant} cache and sessions`, () => {
    let shop: ShopUnderTest
    before(async () => {
      const redisUrl = engines.redis?.url as string
      const cache: CacheConfig = variant === 'memory' ? { kind: 'memory', maxEntries: 1000 } : { kind: 'redis', url: redisUrl, prefix: `${variant}:` }
      const session: SessionConfig = variant === 'memory' ? { kind: 'memory', ttlSeconds: 3600 } : { kind: 'redis', url: redisUrl, ttlSeconds: 3600 }
      // 1 000 products: 50 in each category, so a category's list and a search run to several pages.
      shop = await startShop({ primary: engines.primary.url, cache, session, products: 1000 })
    })
    after(async () => { await shop.close() })

    const login = async (n: number): Promise<Browser> => {
      const browser = new Browser(shop.app)
      const res = await browser.request('POST', '/api/login', { email: `user${n}@example.com`, password: 'password123' })
      assert.equal(res.status, 200)
      return browser
    }

    it('serves products, lists, search and categories, naming the instance', async () => {
      const browser = new Browser(shop.app)
      const product = await browser.request('GET', '/api/products/1')
      assert.equal(product.status, 200)
      assert.equal(product.json.id, 1)
      assert.equal(product.headers['x-outgrow-instance'], 'test-1')
      const list = await browser.request('GET', '/api/products?category=books&page=1')
      assert.equal(list.status, 200)
      assert.ok((list.json.items as Array<{ category: string }>).every((p) => p.category === 'Books'))
      const search = await browser.request('GET', '/api/products?q=lamp')
      assert.ok((search.json.items as Array<{ name: string }>).every((p) => /lamp/i.test(p.name)))
      assert.ok((search.json.items as unknown[]).length > 0)
      const page = await shop.app.inject({ method: 'GET', url: '/' })
      assert.match(page.headers['content-type'] as string, /text\/html/)
    })

    it('lists every filter shape in id order, page after page, as a plain query over the tables would', async () => {
      const db = new pg.Client({ connectionString: engines.primary.url })
      await db.connect()
      try {
        const { rows: [probe] } = await db.query<{ slug: string, word: string }>(
          `SELECT c.slug, split_part(p.name, ' ', 1) AS word FROM products p JOIN categories c ON c.id = p.category_id ORDER BY p.id LIMIT 1`)
        assert.ok(probe !== undefined)
        const expected = async (category: string | undefined, q: string | undefined): Promise<number[]> => (await db.query<{ id: number }>(
          `SELECT p.id FROM products p JOIN categories c ON c.id = p.category_id
            WHERE ($1::text IS NULL OR c.slug = $1) AND ($2::text IS NULL OR p.search @@ plainto_tsquery('simple', $2)) ORDER BY p.id`,
          [category ?? null, q ?? null])).rows.map((r) => r.id)
        const browser = new Browser(shop.app)
        // [category, q, fewest products the shape must match for the test to mean something]
        const shapes: Array<[string | undefined, string | undefined, number]> = [
          [undefined, undefined, 3 * PAGE_SIZE], [probe.slug, undefined, 2 * PAGE_SIZE], [undefined, probe.word, 2 * PAGE_SIZE], [probe.slug, probe.word, 1], ['no-such-category', undefined, 0],
        ]
        for (const [category, q, fewest] of shapes) {
          const want = await expected(category, q)
          assert.ok(want.length >= fewest, `category ${category ?? '-'}, q ${q ?? '-'}: ${want.length} products`)
          const got: number[] = []
          for (let page = 1; page <= 10; page++) {
            const query = new URLSearchParams({ ...(category === undefined ? {} : { category }), ...(q === undefined ? {} : { q }), page: String(page) })
            const res = await browser.request('GET', `/api/products?${query}`)
            assert.equal(res.status, 200)
            got.push(...(res.json.items as Array<{ id: number }>).map((item) => item.id))
            assert.equal(res.json.hasMore, got.length < want.length, `hasMore of page ${page} for ${query}`)
            if (res.json.hasMore !== true) break
          }
          assert.deepEqual(got, want.slice(0, 10 * PAGE_SIZE), `category ${category ?? '-'}, q ${q ?? '-'}`)
        }
      } finally {
        await db.end()
      }
    })

    it('answers bad input with a 4xx JSON error and writes nothing', async () => {
      const browser = await login(2)
      const cases: Array<[string, string, unknown, number, string]> = [
        ['POST', '/api/cart/items', '{"productId": 1,', 400, 'OUTGROW_BAD_REQUEST'],
        ['POST', '/api/cart/items', { productId: 999_999, qty: 1 }, 404, 'OUTGROW_NOT_FOUND'],
        ['POST', '/api/cart/items', { productId: 1, qty: 0 }, 400, 'OUTGROW_VALIDATION'],
        ['POST', '/api/cart/items', { productId: 1, qty: -3 }, 400, 'OUTGROW_VALIDATION'],
        ['POST', '/api/cart/items', { productId: 1, qty: 1000 }, 400, 'OUTGROW_VALIDATION'],
        ['POST', '/api/cart/items', { productId: 'one', qty: 1 }, 400, 'OUTGROW_VALIDATION'],
        ['POST', '/api/cart/items', { productId: 1, qty: 1, extra: true }, 400, 'OUTGROW_VALIDATION'],
        ['GET', '/api/products/abc', undefined, 400, 'OUTGROW_VALIDATION'],
        ['GET', '/api/products/999999', undefined, 404, 'OUTGROW_NOT_FOUND'],
        ['GET', '/api/products?page=0', undefined, 400, 'OUTGROW_VALIDATION'],
        ['GET', '/api/nowhere', undefined, 404, 'OUTGROW_NOT_FOUND'],
        ['POST', '/api/register', { email: 'not-an-email', password: 'longenough', name: 'x' }, 400, 'OUTGROW_VALIDATION'],
      ]
      for (const [method, url, body, status, code] of cases) {
        const res = await browser.request(method as 'GET', url, body)
        assert.equal(res.status, status, `${method} ${url} ${JSON.stringify(body)}`)
        assert.equal((res.json.error as { code: string }).code, code, `${method} ${url}`)
      }
      const big = await browser.request('POST', '/api/cart/items', JSON.stringify({ productId: 1, qty: 1, pad: 'x'.repeat(70_000) }))
      assert.equal(big.status, 413)
      const cart = await browser.request('GET', '/api/cart')
      assert.deepEqual(cart.json.items, [])
      const checkout = await browser.request('POST', '/api/orders')
      assert.equal(checkout.status, 409)
    })

    it('login regenerates the session id and keeps the cart', async () => {
      const browser = new Browser(shop.app)
      await browser.request('POST', '/api/cart/items', { productId: 3, qty: 2 })
      const anonymous = browser.cookie
      assert.notEqual(anonymous, '')
      const res = await browser.request('POST', '/api/login', { email: 'user3@example.com', password: 'password123' })
      assert.equal(res.status, 200)
      assert.notEqual(browser.cookie, anonymous)
      const cart = await browser.request('GET', '/api/cart')
      assert.deepEqual((cart.json.items as Array<{ productId: number, qty: number }>).map((i) => [i.productId, i.qty]), [[3, 2]])
      const stale = new Browser(shop.app)
      stale.cookie = anonymous
      assert.deepEqual((await stale.request('GET', '/api/cart')).json.items, [], 'the old session id is dead')
      const wrong = await new Browser(shop.app).request('POST', '/api/login', { email: 'user3@example.com', password: 'wrong-password' })
      assert.equal(wrong.status, 401)
    })

    it('two concurrent add-to-cart requests in one session both land', async () => {
      const browser = await login(4)
      await Promise.all([
        ...Array.from({ length: 10 }, async () => await browser.request('POST', '/api/cart/items', { productId: 5, qty: 1 })),
        ...Array.from({ length: 10 }, async () => await browser.request('POST', '/api/cart/items', { productId: 6, qty: 2 })),
      ])
      const cart = await browser.request('GET', '/api/cart')
      assert.deepEqual((cart.json.items as Array<{ productId: number, qty: number }>).map((i) => [i.productId, i.qty]), [[5, 10], [6, 20]])
    })

    it('a cart\'s products the cache does not hold are read in one statement, not one each', async () => {
      const ids = variant === 'memory' ? [41, 42, 43, 44, 45, 46] : [51, 52, 53, 54, 55, 56]
      const browser = await login(18)
      for (const productId of ids) assert.equal((await browser.request('POST', '/api/cart/items', { productId, qty: 2 })).status, 201)
      await shop.ports.cache.delete(...ids.map((id) => `product:${id}`))
      const before = await primaryReads()
      const cart = await browser.request('GET', '/api/cart')
      const reads = await primaryReads() - before
      assert.ok(reads >= 1 && reads <= 2, `${reads} reads on the primary for ${ids.length} missing products`)
      const items = cart.json.items as Array<{ productId: number, name: string, qty: number, priceCents: number, lineCents: number }>
      assert.deepEqual(items.map((i) => [i.productId, i.qty]), ids.map((id) => [id, 2]))
      assert.ok(items.every((i) => i.name.endsWith(` ${i.productId}`) && i.lineCents === i.priceCents * 2))
      const again = await primaryReads()
      await browser.request('GET', '/api/cart')
      assert.equal(await primaryReads() - again, 0, 'the loads filled the cache')
      await browser.request('DELETE', '/api/cart')
    })

    it('checkout is one transaction, never oversells, and a retried Idempotency-Key returns the same order', async () => {
      const productId = variant === 'memory' ? 150 : 151
      const admin = new Browser(shop.app)
      const set = await admin.request('PUT', `/api/admin/products/${productId}`, { stock: 5 }, { authorization: `Bearer ${ADMIN_TOKEN}` })
      assert.equal(set.status, 200)
      const buyers = await Promise.all(Array.from({ length: 10 }, async (_, i) => await login(5 + i)))
      for (const buyer of buyers) assert.equal((await buyer.request('POST', '/api/cart/items', { productId, qty: 1 })).status, 201)
      const results = await Promise.all(buyers.map(async (b) => await b.request('POST', '/api/orders')))
      assert.equal(results.filter((r) => r.status === 201).length, 5)
      assert.equal(results.filter((r) => r.status === 409 && (r.json.error as { code: string }).code === 'OUTGROW_OUT_OF_STOCK').length, 5)
      const stock = await shop.db.read<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [productId], { primary: true })
      assert.equal(stock.rows[0]?.stock, 0)
      const product = await admin.request('GET', `/api/products/${productId}`)
      assert.equal(product.json.stock, 0, 'checkout invalidated the cached product')

      const buyer = await login(16)
      await buyer.request('POST', '/api/cart/items', { productId: 20, qty: 1 })
      const key = { 'idempotency-key': `retry-${variant}` }
      const [first, second] = await Promise.all([buyer.request('POST', '/api/orders', undefined, key), buyer.request('POST', '/api/orders', undefined, key)])
      const third = await buyer.request('POST', '/api/orders', undefined, key)
      const answers = [first, second, third].map((r) => [r.status, r.json])
      assert.deepEqual(answers.map(([status]) => status), [201, 201, 201], `every copy gets the order: ${JSON.stringify(answers)}`)
      assert.equal(new Set(answers.map(([, json]) => JSON.stringify(json))).size, 1, 'one order, one answer')
      const count = await shop.db.read<{ n: string }>('SELECT count(*) AS n FROM orders WHERE idempotency_key = $1', [`retry-${variant}`], { primary: true })
      assert.equal(count.rows[0]?.n, '1')
    })

    it('a checkout of several lines takes them all or none: concurrent ones do not deadlock, and a line short of stock is named', async () => {
      const [a, b] = variant === 'memory' ? [170, 172] : [171, 173]
      const admin = new Browser(shop.app)
      const token = { authorization: `Bearer ${ADMIN_TOKEN}` }
      for (const id of [a, b]) assert.equal((await admin.request('PUT', `/api/admin/products/${id}`, { stock: 100 }, token)).status, 200)
      const buyers = [await login(19), await login(20)]
      for (let round = 0; round < 3; round++) {
        // Carts filled in opposite orders: the rows are still locked in product-id order.
        await buyers[0]?.request('POST', '/api/cart/items', { productId: a, qty: 1 })
        await buyers[0]?.request('POST', '/api/cart/items', { productId: b, qty: 1 })
        await buyers[1]?.request('POST', '/api/cart/items', { productId: b, qty: 1 })
        await buyers[1]?.request('POST', '/api/cart/items', { productId: a, qty: 1 })
        const placed = await Promise.all(buyers.map(async (buyer) => await buyer.request('POST', '/api/orders')))
        assert.deepEqual(placed.map((r) => r.status), [201, 201], JSON.stringify(placed.map((r) => r.json)))
        for (const order of placed) {
          // The order row is inserted before the stock is taken; its total and items are written with the stock.
          const stored = await shop.db.read<{ total_cents: string, items: string, qty: string, value: string }>(
            `SELECT o.total_cents, count(i.*) AS items, sum(i.qty) AS qty, sum(i.qty * i.price_cents) AS value
               FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id = $1 GROUP BY o.total_cents`, [order.json.id], { primary: true })
          const row = stored.rows[0]
          assert.ok(row !== undefined && Number(row.total_cents) > 0)
          assert.deepEqual([Number(row.total_cents), row.items, row.qty, Number(row.value)], [order.json.totalCents, '2', '2', order.json.totalCents])
        }
      }
      const stockOf = async (id: number): Promise<number | undefined> => (await shop.db.read<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [id], { primary: true })).rows[0]?.stock
      assert.deepEqual([await stockOf(a), await stockOf(b)], [94, 94])
      assert.equal((await admin.request('PUT', `/api/admin/products/${b}`, { stock: 0 }, token)).status, 200)
      const buyer = buyers[0] as Browser
      await buyer.request('POST', '/api/cart/items', { productId: a, qty: 2 })
      await buyer.request('POST', '/api/cart/items', { productId: b, qty: 1 })
      const ordersOf = async (): Promise<string | undefined> => (await shop.db.read<{ n: string }>('SELECT count(*) AS n FROM orders o JOIN users u ON u.id = o.user_id WHERE u.email = $1', ['user19@example.com'], { primary: true })).rows[0]?.n
      const ordersBefore = await ordersOf()
      const refused = await buyer.request('POST', '/api/orders')
      assert.equal(refused.status, 409)
      assert.equal(await ordersOf(), ordersBefore, 'a refused checkout leaves no order behind')
      assert.deepEqual(refused.json.error, { code: 'OUTGROW_OUT_OF_STOCK', message: `not enough stock for product ${b}`, retryable: false, details: { productId: b } })
      assert.equal(await stockOf(a), 94, 'the line that had stock is not taken either')
      const product = await admin.request('GET', `/api/products/${a}`)
      assert.equal(product.json.stock, 94, 'the cached product shows the orders')
    })

    it('orders appear in the buyer\'s history at once and get a receipt from a background job', async () => {
      const buyer = await login(17)
      await buyer.request('POST', '/api/cart/items', { productId: 30, qty: 2 })
      const placed = await buyer.request('POST', '/api/orders')
      assert.equal(placed.status, 201)
      const history = await buyer.request('GET', '/api/orders')
      assert.ok((history.json.items as Array<{ id: number }>).some((o) => o.id === placed.json.id))
      assert.deepEqual((await buyer.request('GET', '/api/cart')).json.items, [], 'the ordered items left the cart')
      const receipt = await eventually(async () => {
        const order = await buyer.request('GET', `/api/orders/${String(placed.json.id)}`)
        return order.json.receiptReady === true ? order.json.receipt as string : undefined
      })
      assert.match(receipt, /Receipt for order/)
      const other = await login(18)
      assert.equal((await other.request('GET', `/api/orders/${String(placed.json.id)}`)).status, 404, 'another user cannot see it')
      assert.equal((await new Browser(shop.app).request('GET', '/api/orders')).status, 401)
    })

    it('admin writes need the token and invalidate the cached product and lists', async () => {
      const browser = new Browser(shop.app)
      const before = await browser.request('GET', '/api/products?category=books')
      const first = (before.json.items as Array<{ id: number, priceCents: number }>)[0] as { id: number, priceCents: number }
      await browser.request('GET', `/api/products/${first.id}`)
      assert.equal((await browser.request('PUT', `/api/admin/products/${first.id}`, { priceCents: 1 })).status, 401)
      assert.equal((await browser.request('PUT', `/api/admin/products/${first.id}`, { priceCents: 1 }, { authorization: 'Bearer wrong-token-xx' })).status, 403)
      const newPrice = first.priceCents + 111
      const updated = await browser.request('PUT', `/api/admin/products/${first.id}`, { priceCents: newPrice }, { authorization: `Bearer ${ADMIN_TOKEN}` })
      assert.equal(updated.status, 200)
      assert.equal((await browser.request('GET', `/api/products/${first.id}`)).json.priceCents, newPrice)
      const after = await browser.request('GET', '/api/products?category=books')
      assert.equal((after.json.items as Array<{ priceCents: number }>)[0]?.priceCents, newPrice)
    })
  })
}
