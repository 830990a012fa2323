import assert from 'node:assert/strict'
import { after, before, describe, it, mock } from 'node:test'
import pg from 'pg'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { ADMIN_TOKEN, Browser, startShop, type ShopUnderTest } from '../helpers/shop.js'
import { waitUntil } from '../helpers/wait.js'

let engines: TestEngines
let shop: ShopUnderTest
before(async () => {
  engines = await startEngines()
  shop = await startShop({ primary: engines.primary.url, cache: { kind: 'memory', maxEntries: 1000 }, session: { kind: 'memory', ttlSeconds: 3600 } })
})
after(async () => {
  await shop.close()
  await engines.stop()
})

type Response = Awaited<ReturnType<Browser['request']>>

async function login (n: number): Promise<{ browser: Browser, userId: number }> {
  const browser = new Browser(shop.app)
  const res = await browser.request('POST', '/api/login', { email: `user${n}@example.com`, password: 'password123' })
  assert.equal(res.status, 200)
  return { browser, userId: res.json.id as number }
}

async function setStock (productId: number, stock: number): Promise<void> {
  const res = await new Browser(shop.app).request('PUT', `/api/admin/products/${productId}`, { stock }, { authorization: `Bearer ${ADMIN_TOKEN}` })
  assert.equal(res.status, 200)
}

async function cart (browser: Browser): Promise<Array<[number, number]>> {
  const items = (await browser.request('GET', '/api/cart')).json.items as Array<{ productId: number, qty: number }>
  return items.map((i) => [i.productId, i.qty])
}

const checkout = async (browser: Browser, key: string, body?: unknown): Promise<Response> =>
  await browser.request('POST', '/api/orders', body, { 'idempotency-key': key })

const answer = (res: Response): [number, Record<string, unknown>] => [res.status, res.json]

describe('checkout with an Idempotency-Key', () => {
  it('concurrent copies of one checkout of the last item all get the same order', async () => {
    await setStock(40, 1)
    const { browser } = await login(1)
    assert.equal((await browser.request('POST', '/api/cart/items', { productId: 40, qty: 1 })).status, 201)
    const copies = await Promise.all([1, 2, 3].map(async () => await checkout(browser, 'flash-sale')))
    assert.equal(copies[0]?.status, 201, JSON.stringify(copies.map(answer)))
    for (const copy of copies) assert.deepEqual(answer(copy), answer(copies[0]))
    assert.equal(copies.filter((c) => c.headers['idempotent-replayed'] === 'true').length, 2, 'two of them are replays')
    const orders = await shop.db.read<{ n: string }>("SELECT count(*) AS n FROM orders WHERE idempotency_key = 'flash-sale'", [], { primary: true })
    assert.equal(orders.rows[0]?.n, '1')
    assert.deepEqual(await cart(browser), [])
  })

  it('a refused checkout is recorded: a retry gets the same error, even once the stock is back', async () => {
    await setStock(41, 0)
    const { browser } = await login(2)
    await browser.request('POST', '/api/cart/items', { productId: 41, qty: 1 })
    const first = await checkout(browser, 'sold-out')
    assert.equal(first.status, 409)
    assert.equal((first.json.error as { code: string }).code, 'OUTGROW_OUT_OF_STOCK')
    await setStock(41, 10)
    const retry = await checkout(browser, 'sold-out')
    assert.deepEqual(answer(retry), answer(first))
    const stock = await shop.db.read<{ stock: number }>('SELECT stock FROM products WHERE id = 41', [], { primary: true })
    assert.equal(stock.rows[0]?.stock, 10, 'nothing was sold')
  })

  it('a used key with a different body is refused, and nothing is ordered', async () => {
    const { browser, userId } = await login(3)
    await browser.request('POST', '/api/cart/items', { productId: 42, qty: 1 })
    assert.equal((await checkout(browser, 'bound', { note: 'first' })).status, 201)
    await browser.request('POST', '/api/cart/items', { productId: 43, qty: 1 })
    const other = await checkout(browser, 'bound', { note: 'second' })
    assert.equal(other.status, 422)
    assert.equal((other.json.error as { code: string }).code, 'OUTGROW_IDEMPOTENCY_MISMATCH')
    assert.equal((await checkout(browser, 'bound', { note: 'first' })).status, 201, 'the original body still replays')
    const orders = await shop.db.read<{ n: string }>('SELECT count(*) AS n FROM orders WHERE user_id = $1', [userId], { primary: true })
    assert.equal(orders.rows[0]?.n, '1')
    assert.deepEqual(await cart(browser), [[43, 1]])
  })

  it('another user may use the same key for their own checkout', async () => {
    const a = await login(4)
    const b = await login(5)
    await a.browser.request('POST', '/api/cart/items', { productId: 44, qty: 1 })
    await b.browser.request('POST', '/api/cart/items', { productId: 44, qty: 1 })
    const first = await checkout(a.browser, 'shared-key')
    const second = await checkout(b.browser, 'shared-key')
    assert.equal(first.status, 201)
    assert.equal(second.status, 201)
    assert.notEqual(first.json.id, second.json.id)
  })

  it('a key expires after 24 hours and may then place a new order', async () => {
    const { browser, userId } = await login(6)
    await browser.request('POST', '/api/cart/items', { productId: 45, qty: 1 })
    const first = await checkout(browser, 'yesterday')
    assert.equal(first.status, 201)
    await shop.db.write("UPDATE idempotency_keys SET created_at = now() - interval '24 hours 1 minute' WHERE user_id = $1 AND key = 'yesterday'", [userId])
    await browser.request('POST', '/api/cart/items', { productId: 46, qty: 1 })
    const again = await checkout(browser, 'yesterday', { other: 'body' })
    assert.equal(again.status, 201)
    assert.notEqual(again.json.id, first.json.id)
    assert.equal(again.headers['idempotent-replayed'], undefined)
  })

  it('a copy waits for the request holding its key, then answers 409 in progress (retryable)', async () => {
    const { browser, userId } = await login(7)
    await browser.request('POST', '/api/cart/items', { productId: 47, qty: 1 })
    // Another instance's checkout in flight: the key row inserted by a transaction not yet committed.
    const holder = new pg.Client({ connectionString: engines.primary.url })
    await holder.connect()
    try {
      await holder.query('BEGIN')
      await holder.query("INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, 'held', 'x')", [userId])
      const started = Date.now()
      const copy = await checkout(browser, 'held')
      assert.equal(copy.status, 409)
      assert.deepEqual([(copy.json.error as { code: string }).code, (copy.json.error as { retryable: boolean }).retryable], ['OUTGROW_IDEMPOTENCY_IN_PROGRESS', true])
      assert.ok(Date.now() - started >= 2500, 'it waited for the request in flight')
      await holder.query('ROLLBACK')
    } finally {
      await holder.end()
    }
    assert.equal((await checkout(browser, 'held')).status, 201, 'once the holder rolled back, the retry runs')
  })

  it('a receipt whose enqueue failed is enqueued later by the outbox relay, and a replay clears the cart once', async () => {
    const { browser } = await login(8)
    await browser.request('POST', '/api/cart/items', { productId: 48, qty: 2 })
    const lostEnqueue = mock.method(shop.ports.jobs, 'enqueue', async () => { throw new Error('queue down') })
    let first: Response
    try {
      first = await checkout(browser, 'lost-receipt')
    } finally {
      lostEnqueue.mock.restore()
    }
    assert.equal(first.status, 201)
    assert.deepEqual(await cart(browser), [])
    await browser.request('POST', '/api/cart/items', { productId: 48, qty: 1 })
    const replay = await checkout(browser, 'lost-receipt')
    assert.deepEqual(answer(replay), answer(first))
    assert.deepEqual(await cart(browser), [[48, 1]], 'the item added after the order stays')
    const ready = await waitUntil(async () => (await browser.request('GET', `/api/orders/${String(first.json.id)}`)).json.receiptReady === true, 5000)
    assert.ok(ready, 'the receipt was rendered once the queue took it')
  })

  it('a session keeps the clean-up guard of its newest order only, and a replay of an older order leaves the cart alone', async () => {
    await setStock(45, 100)
    const { browser } = await login(9)
    const orders: number[] = []
    for (const key of ['guard-1', 'guard-2', 'guard-3']) {
      assert.equal((await browser.request('POST', '/api/cart/items', { productId: 45, qty: 1 })).status, 201)
      const placed = await checkout(browser, key)
      assert.equal(placed.status, 201, JSON.stringify(placed.json))
      orders.push(placed.json.id as number)
    }
    const sessionId = browser.cookie.replace(/^outgrow\.sid=/, '')
    const guards = Object.keys(await shop.sessionStore.getAll(sessionId)).filter((f) => f.startsWith('ordered:'))
    assert.deepEqual(guards, [`ordered:${orders[2]}`])
    // Something new in the cart, then a late replay of the first order: it must not take it away.
    assert.equal((await browser.request('POST', '/api/cart/items', { productId: 45, qty: 2 })).status, 201)
    const replay = await checkout(browser, 'guard-1')
    assert.equal(replay.status, 201)
    assert.equal(replay.headers['idempotent-replayed'], 'true')
    assert.equal(replay.json.id, orders[0])
    assert.deepEqual(await cart(browser), [[45, 2]])
  })
})
