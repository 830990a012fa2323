import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { CacheConfig, WriteBehindConfig } from '../../src/config/process-config.js'
import { productKey } from '../../examples/shop/catalog-data.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { ADMIN_TOKEN, Browser, startShop, type ShopUnderTest } from '../helpers/shop.js'

let engines: TestEngines
before(async () => { engines = await startEngines({ redis: true }) })
after(async () => { await engines.stop() })

async function views (shop: ShopUnderTest, productId: number): Promise<number> {
  const found = await shop.db.read<{ views: string }>('SELECT views FROM product_views WHERE product_id = $1', [productId], { primary: true })
  return Number(found.rows[0]?.views ?? 0)
}

/** Levels 1–2 (memory cache, views applied at once) and 3–4 (Redis cache, views through Redis streams). */
for (const variant of ['in-process', 'redis'] as const) {
  describe(`shop write paths (${variant})`, () => {
    let shop: ShopUnderTest
    before(async () => {
      const url = engines.redis?.url as string
      const cache: CacheConfig = variant === 'redis' ? { kind: 'redis', url, prefix: `paths-${variant}:` } : { kind: 'memory', maxEntries: 1000 }
      const writeBehind: WriteBehindConfig = variant === 'redis'
        ? { kind: 'redis', url, prefix: `paths-${variant}-wb:`, partitions: 2, batchSize: 100, leaseMs: 1000, maxBacklog: 100_000 }
        : { kind: 'direct' }
      shop = await startShop({ primary: engines.primary.url, cache, session: { kind: 'memory', ttlSeconds: 3600 }, writeBehind })
    })
    after(async () => { await shop.close() })

    it('counts every product page view through write-behind, and none for a product that does not exist', async () => {
      const browser = new Browser(shop.app)
      const before = await views(shop, 3)
      for (let i = 0; i < 25; i++) assert.equal((await browser.request('GET', '/products/3')).status, 200)
      assert.equal((await browser.request('GET', '/products/999999')).status, 404)
      const deadline = Date.now() + 10_000
      while (await views(shop, 3) < before + 25 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25))
      assert.equal(await views(shop, 3), before + 25)
      assert.equal(await views(shop, 999999), 0)
    })

    it('writes a price change through: the product is served with it at once, and a late older write loses', async () => {
      const browser = new Browser(shop.app)
      const product = (await browser.request('GET', '/api/products/7')).json as { priceCents: number }
      const updated = await browser.request('PUT', '/api/admin/products/7', { priceCents: product.priceCents + 100 }, { authorization: `Bearer ${ADMIN_TOKEN}` })
      assert.equal(updated.status, 200)
      assert.deepEqual((await shop.ports.cache.get<{ priceCents: number }>(productKey(7)))?.priceCents, product.priceCents + 100, 'written through, not just invalidated')
      assert.equal((await browser.request('GET', '/api/products/7')).json.priceCents, product.priceCents + 100)
      const row = await shop.db.read<{ version: string }>('SELECT version FROM products WHERE id = 7', [], { primary: true })
      const stale = { ...product, priceCents: 1 }
      assert.equal(await shop.ports.cache.setVersioned(productKey(7), stale, 60, { version: Number(row.rows[0]?.version) - 1 }), false)
      assert.equal((await browser.request('GET', '/api/products/7')).json.priceCents, product.priceCents + 100)
    })
  })
}
