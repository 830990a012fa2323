import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { startShop, type ShopUnderTest } from '../helpers/shop.js'

let engines: TestEngines
let shop: ShopUnderTest
before(async () => {
  engines = await startEngines()
  // 500 products in 20 categories: 25 per category, more than one page of 20.
  shop = await startShop({ primary: engines.primary.url, cache: { kind: 'memory', maxEntries: 1000 }, session: { kind: 'memory', ttlSeconds: 60 }, products: 500, users: 0 })
})
after(async () => {
  await shop.close()
  await engines.stop()
})

async function page (url: string): Promise<{ status: number, type: string, body: string, links: string[] }> {
  const response = await shop.app.inject({ method: 'GET', url })
  const links = [...response.body.matchAll(/href="([^"]+)"/g)].map((m) => (m[1] as string).replaceAll('&#38;', '&'))
  return { status: response.statusCode, type: String(response.headers['content-type']), body: response.body, links }
}

test('every link of the HTML home page leads to an HTML page', async () => {
  const home = await page('/')
  assert.ok(home.links.some((l) => l.startsWith('/categories/')), 'it links the categories')
  for (const link of new Set(home.links)) {
    const target = await page(link)
    assert.equal(target.status, 200, link)
    assert.match(target.type, /^text\/html/, link)
  }
})

test('a category page lists that category’s products, pages through them and links HTML only', async () => {
  const first = await page('/categories/books')
  assert.equal(first.status, 200)
  assert.match(first.body, /<h1>Books<\/h1>/)
  assert.ok(first.links.includes('/categories/books?page=2'))
  assert.ok(first.links.every((l) => !l.startsWith('/api/')), first.links.join(' '))
  const second = await page('/categories/books?page=2')
  assert.ok(second.links.includes('/categories/books?page=1'))
  const productLinks = second.links.filter((l) => l.startsWith('/products/'))
  assert.ok(productLinks.length > 0)
  for (const link of productLinks) {
    const product = await shop.app.inject({ method: 'GET', url: `/api${link}` })
    assert.equal(product.json<{ category: string }>().category, 'Books', link)
  }
  assert.equal((await page('/categories/no-such-category')).status, 404)
})
