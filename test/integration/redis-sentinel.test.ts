import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { adapterLog } from '../../src/runtime/log.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { crash, eventually } from '../helpers/outage.js'
import { replication, startSentinelGroup, waitForLink, type SentinelGroup } from '../helpers/sentinel-group.js'
import { Browser, startShop, type ShopUnderTest } from '../helpers/shop.js'

/**
 * `kill -9` of the Redis master behind cache, sessions and jobs, with a replica and three
 * Sentinels: the replica is promoted; every session acknowledged before the kill (WAIT 1) is
 * there after it; product pages never fail meanwhile (the cache fails open); a job enqueued after
 * the failover is processed; the old master, started again, comes back as a replica of the new one.
 */
adapterLog.level = 'silent'
let engines: TestEngines
let group: SentinelGroup
let shop: ShopUnderTest

before(async () => {
  engines = await startEngines({})
  group = await startSentinelGroup()
  shop = await startShop({
    primary: engines.primary.url,
    cache: { kind: 'redis', ...group.target, prefix: 'cache:', breaker: { failures: 3, openMs: 300 } },
    session: { kind: 'redis', ...group.target, ttlSeconds: 3600, replicaAcks: { replicas: 1, timeoutMs: 500 } },
    jobs: { kind: 'bullmq', ...group.target, queue: 'sentinel-jobs', concurrency: 2 },
  })
})
after(async () => {
  await shop.close()
  await group.stop()
  await engines.stop()
})

/** GETs of cached product pages, one after another, until stopped: the statuses seen. */
function readLoop (browser: Browser): { stop: () => Promise<number[]> } {
  let stopping = false
  const statuses: number[] = []
  const loop = (async () => {
    for (let n = 0; !stopping; n++) {
      statuses.push((await browser.request('GET', `/api/products/${1 + (n % 20)}`)).status)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })()
  return { stop: async () => { stopping = true; await loop; return statuses } }
}

test('master killed: a replica is promoted, acknowledged sessions survive, cached pages never fail, jobs run, the old master rejoins as a replica', async () => {
  const [oldMaster, replica] = group.nodes as [typeof group.nodes[0], typeof group.nodes[0]]
  assert.equal(await group.masterPort(), oldMaster.options.port)
  const buyers: Browser[] = []
  for (let n = 1; n <= 8; n++) {
    const buyer = new Browser(shop.app)
    const login = await buyer.request('POST', '/api/login', { email: `user${n}@example.com`, password: 'password123' })
    assert.equal(login.status, 200, JSON.stringify(login.json))
    assert.equal((await buyer.request('POST', '/api/cart/items', { productId: n, qty: n }, {})).status, 201)
    buyers.push(buyer)
  }
  const anonymous = new Browser(shop.app)
  for (let id = 1; id <= 20; id++) assert.equal((await anonymous.request('GET', `/api/products/${id}`)).status, 200)

  const reads = readLoop(anonymous)
  await crash(oldMaster)
  await eventually(async () => await group.masterPort() === replica.options.port ? true : undefined, 30_000)
  // Clients find the new master through the Sentinels; sessions come back within a few seconds.
  await eventually(async () => (await (buyers[0] as Browser).request('GET', '/api/cart')).status === 200 ? true : undefined, 15_000)
  const statuses = await reads.stop()
  assert.ok(statuses.length > 10, `${statuses.length} reads during the failover`)
  assert.deepEqual(statuses.filter((s) => s !== 200), [], 'cached product pages never failed')

  for (const [i, buyer] of buyers.entries()) {
    const cart = await buyer.request('GET', '/api/cart')
    assert.equal(cart.status, 200, `buyer ${i + 1}: ${JSON.stringify(cart.json)}`)
    assert.deepEqual((cart.json.items as Array<{ productId: number, qty: number }>).map((item) => [item.productId, item.qty]), [[i + 1, i + 1]], `buyer ${i + 1}'s session survived`)
  }

  // A session write needs a replica to acknowledge it, and the new master has none yet.
  const unreplicated = await (buyers[1] as Browser).request('POST', '/api/cart/items', { productId: 30, qty: 1 })
  assert.equal(unreplicated.status, 503, JSON.stringify(unreplicated.json))
  assert.equal((unreplicated.json.error as { retryable: boolean }).retryable, true)

  await group.restart(oldMaster)
  const rejoined = await replication(oldMaster)
  assert.match(rejoined, /role:slave/)
  assert.match(rejoined, new RegExp(`master_port:${replica.options.port}`))
  await waitForLink(oldMaster)

  const buyer = buyers[0] as Browser
  await eventually(async () => (await buyer.request('POST', '/api/cart/items', { productId: 31, qty: 1 })).status === 201 ? true : undefined)
  const order = await buyer.request('POST', '/api/orders')
  assert.equal(order.status, 201, JSON.stringify(order.json))
  const confirmed = await eventually(async () => {
    const row = await shop.db.read<{ status: string }>('SELECT status FROM orders WHERE id = $1', [order.json.id], { primary: true })
    return row.rows[0]?.status === 'confirmed' ? true : undefined
  }, 15_000)
  assert.equal(confirmed, true, 'the receipt job enqueued after the failover ran')
  const readyz = await shop.app.inject({ method: 'GET', url: '/readyz' })
  assert.equal(readyz.statusCode, 200)
})
