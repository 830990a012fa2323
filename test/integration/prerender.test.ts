import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { request } from 'undici'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'
import { startGateway, type RunningGateway } from '../../src/gateway/server.js'
import { DirectoryStaticStore } from '../../src/static-store/directory-store.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { ADMIN_TOKEN, startShop, type ShopUnderTest } from '../helpers/shop.js'

interface Page { status: number, headers: Record<string, unknown>, body: string }
const errorOf = (page: Page): { code: string, message: string, retryable: boolean } => (JSON.parse(page.body) as { error: { code: string, message: string, retryable: boolean } }).error

/** Polls until check holds; the bound is generous (a slow machine), never the claim under test. */
async function eventually (what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`not in time: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('pre-rendered product pages (gateway + shop + worker on PostgreSQL, Redis Streams and BullMQ)', () => {
  let engines: TestEngines
  let shop: ShopUnderTest
  let gateway: RunningGateway
  let dir: string
  let base: string

  const get = async (path: string, headers: Record<string, string> = {}): Promise<Page> => {
    const res = await request(`${base}${path}`, { headers })
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() }
  }
  const send = async (method: 'PUT' | 'POST', path: string, body: unknown, token = ADMIN_TOKEN): Promise<Page> => {
    const res = await request(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() }
  }
  const staticCopy = async (path: string, includes: string): Promise<boolean> => {
    const page = await get(path)
    return page.headers['x-outgrow-static'] === 'hit' && page.body.includes(includes)
  }

  before(async () => {
    engines = await startEngines({ redis: true })
    dir = await mkdtemp(join(tmpdir(), 'outgrow-prerender-'))
    const redis = engines.redis?.url as string
    // The level-4 adapters: events on Redis Streams, jobs in BullMQ (this process is also the worker).
    shop = await startShop({
      primary: engines.primary.url, products: 300, users: 2,
      cache: { kind: 'memory', maxEntries: 1000 }, session: { kind: 'memory', ttlSeconds: 3600 },
      jobs: { kind: 'bullmq', url: redis, queue: 'prerender-test', concurrency: 4 },
      events: { kind: 'redis', url: redis, namespace: 'prerender-test', maxLen: 10_000 },
      staticStore: new DirectoryStaticStore(dir),
    })
    await shop.app.listen({ host: '127.0.0.1', port: 0 })
    const app = `http://127.0.0.1:${(shop.app.server.address() as AddressInfo).port}`
    gateway = await startGateway(parseGatewayConfig({
      port: 0, admin: { port: 0 }, static: { dir, maxAgeSeconds: 60 },
      upstreams: { instances: [{ id: 'app-1', url: app }], healthCheck: { intervalMs: 200, timeoutMs: 500, rise: 1, fall: 3 } },
    }))
    base = `http://127.0.0.1:${gateway.port}`
  })
  after(async () => {
    await gateway?.close()
    await shop?.close()
    await engines?.stop()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('renders every product at start, in batches; the gateway serves the copy with ETag and 304', async () => {
    const dynamic = await get('/products/250')
    assert.equal(dynamic.status, 200)
    assert.equal(dynamic.headers['x-outgrow-static'], undefined, 'before the render the app answers')
    const name = (await shop.db.read<{ name: string }>('SELECT name FROM products WHERE id = 250', [], { primary: true })).rows[0]?.name as string
    await (await import('../../examples/shop/service.js')).default.onStart?.(shop.ports)
    // Product 250 is in the second batch of 200.
    await eventually('product 250 pre-rendered', async () => await staticCopy('/products/250', name))
    const page = await get('/products/250')
    assert.equal(page.status, 200)
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8')
    assert.match(page.body, /navigator\.sendBeacon\('\/api\/products\/250\/views'\)/)
    assert.equal(page.body.replace(/<script>.*?<\/script>/, ''), dynamic.body, 'the static copy is the dynamic page plus its view beacon')
    const etag = String(page.headers.etag)
    assert.match(etag, /^W\/"/)
    const revalidated = await get('/products/250', { 'if-none-match': etag })
    assert.equal(revalidated.status, 304)
    assert.equal(revalidated.body, '')
  })

  it('a static copy counts its view through the beacon', async () => {
    const views = async (): Promise<number> => Number((await shop.db.read<{ views: string }>('SELECT views FROM product_views WHERE product_id = 250', [], { primary: true })).rows[0]?.views ?? 0)
    const before = await views()
    const res = await request(`${base}/api/products/250/views`, { method: 'POST' })
    assert.equal(res.statusCode, 204)
    await res.body.dump()
    await eventually('the view counted', async () => await views() === before + 1)
    const bad = await request(`${base}/api/products/zero/views`, { method: 'POST' })
    assert.equal(bad.statusCode, 400)
    assert.equal((await bad.body.json() as { error: { code: string } }).error.code, 'OUTGROW_VALIDATION')
  })

  it('pre-rendered page replaced after a price change', async () => {
    await eventually('product 5 pre-rendered', async () => (await get('/products/5')).headers['x-outgrow-static'] === 'hit')
    const old = await get('/products/5')
    const changed = await send('PUT', '/api/admin/products/5', { priceCents: 12_345 })
    assert.equal(changed.status, 200)
    const started = Date.now()
    await eventually('the new price on the static copy', async () => await staticCopy('/products/5', '$123.45'))
    console.log(`the static copy showed the new price ${Date.now() - started} ms after the change was acknowledged`)
    const fresh = await get('/products/5', { 'if-none-match': String(old.headers.etag) })
    assert.equal(fresh.status, 200, 'the old ETag no longer matches')
    assert.ok(fresh.body.includes('$123.45'))
  })

  it('a deleted product\'s page is removed by a render on demand, and a missing one 404s', async () => {
    await eventually('product 7 pre-rendered', async () => (await get('/products/7')).headers['x-outgrow-static'] === 'hit')
    await shop.db.write('DELETE FROM product_views WHERE product_id = 7; DELETE FROM products WHERE id = 7')
    assert.equal((await send('POST', '/api/admin/pages/render', { productIds: [7] })).status, 202)
    await eventually('the page of product 7 gone', async () => (await get('/products/7')).status === 404)
    const gone = await get('/products/7')
    assert.equal(gone.headers['x-outgrow-static'], undefined)
    assert.equal(errorOf(gone).code, 'OUTGROW_NOT_FOUND')
    const missing = await get('/products/99999')
    assert.equal(missing.status, 404)
    assert.equal(missing.headers['x-outgrow-static'], undefined)
  })

  it('refuses a bad render request with a 4xx naming the field', async () => {
    const empty = await send('POST', '/api/admin/pages/render', { productIds: [] })
    assert.equal(empty.status, 400)
    assert.equal(errorOf(empty).code, 'OUTGROW_VALIDATION')
    assert.equal(errorOf(empty).retryable, false)
    assert.match(errorOf(empty).message, /productIds/)
    assert.equal((await send('POST', '/api/admin/pages/render', { productIds: [1] }, 'wrong-token-123')).status, 403)
  })
})
