import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { productsCovering, warmCatalog } from '../../src/lab/catalog-warm.js'

test('productsCovering: the most popular products that take a share of Zipf views', () => {
  // Zipf(1.0) over 4 products: weights 1, 1/2, 1/3, 1/4 (sum 25/12); 1 and 2 take 18/25 = 72 %.
  assert.equal(productsCovering(4, 0.48), 1)
  assert.equal(productsCovering(4, 0.72), 2)
  assert.equal(productsCovering(4, 0.73), 3)
  assert.equal(productsCovering(4, 1), 4)
  assert.equal(productsCovering(4, 0), 0)
  // Over 10 000 products, 80 % of the views fall on about 1 400 of them.
  const k = productsCovering(10_000, 0.8)
  assert.ok(k > 1300 && k < 1500, `k = ${k}`)
  assert.throws(() => productsCovering(0, 0.5), RangeError)
  assert.throws(() => productsCovering(10, 1.5), RangeError)
})

let server: Server
let url = ''
const seen: string[] = []
before(async () => {
  server = createServer((req, res) => {
    seen.push(req.url ?? '')
    // Product 3 does not exist (a 404 is an answer); product 4's server fails.
    res.statusCode = req.url === '/api/products/3' ? 404 : req.url === '/api/products/4' ? 500 : 200
    res.end('{}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
after(async () => { await new Promise<void>((resolve) => server.close(() => { resolve() })) })

test('warmCatalog requests each of the most popular product pages once and counts failures', async () => {
  const result = await warmCatalog({ url, products: 4, share: 1, connections: 2 })
  assert.equal(result.products, 4)
  assert.equal(result.failures, 1)
  assert.deepEqual([...seen].sort(), ['/api/products/1', '/api/products/2', '/api/products/3', '/api/products/4'])
  seen.length = 0
  assert.deepEqual(await warmCatalog({ url, products: 4, share: 0 }), { products: 0, seconds: 0, failures: 0 })
  assert.equal(seen.length, 0)
})
