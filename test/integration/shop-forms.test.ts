import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { startShop, type ShopUnderTest } from '../helpers/shop.js'

/** The shop's HTML forms over HTTP: refusals shown on the page with their status, nothing changed by them. */
let engines: TestEngines
let shop: ShopUnderTest
before(async () => {
  engines = await startEngines()
  shop = await startShop({ primary: engines.primary.url, cache: { kind: 'memory', maxEntries: 1000 }, session: { kind: 'memory', ttlSeconds: 600 }, products: 50, users: 3 })
})
after(async () => {
  await shop?.close()
  await engines?.stop()
})

const HOST = 'shop.test'

/** A browser without JavaScript: a cookie jar, form posts from this site, pages as text. */
class FormClient {
  cookie = ''
  async send (method: 'GET' | 'POST', url: string, form?: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number, body: string, location: string | undefined }> {
    const response = await shop.app.inject({
      method, url,
      headers: {
        host: HOST, accept: 'text/html', ...(this.cookie === '' ? {} : { cookie: this.cookie }),
        ...(form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded', origin: `http://${HOST}` }), ...headers,
      },
      ...(form === undefined ? {} : { payload: new URLSearchParams(form).toString() }),
    })
    const setCookie = response.headers['set-cookie']
    for (const c of Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie]) {
      const pair = c.split(';')[0] ?? ''
      if (pair.startsWith('outgrow.sid=')) this.cookie = pair.endsWith('=') ? '' : pair
    }
    const location = response.headers.location
    return { status: response.statusCode, body: response.body, location: typeof location === 'string' ? location : undefined }
  }
}

test('a wrong password shows the login form again with a 401 and the e-mail kept; the right one redirects to where the person was going', async () => {
  const client = new FormClient()
  const wrong = await client.send('POST', '/login', { email: 'user1@example.com', password: 'not-the-password', next: '/cart' })
  assert.equal(wrong.status, 401)
  assert.match(wrong.body, /<p role="alert">wrong email or password<\/p>/)
  assert.match(wrong.body, /value="user1@example.com"/)
  const right = await client.send('POST', '/login', { email: 'user1@example.com', password: 'password123', next: '//elsewhere.example' })
  assert.equal(right.status, 303)
  assert.equal(right.location, '/', 'a next that leaves the site is not followed')
  assert.match((await client.send('GET', '/')).body, /Signed in as <strong>User 1<\/strong>/)
})

test('registering an e-mail twice is refused on the page with a 409; bad input with a 400', async () => {
  const client = new FormClient()
  const taken = await client.send('POST', '/register', { name: 'Again', email: 'user2@example.com', password: 'long enough pw' })
  assert.equal(taken.status, 409)
  assert.match(taken.body, /email is already registered/)
  const short = await client.send('POST', '/register', { name: 'Short', email: 'short@example.com', password: 'short' })
  assert.equal(short.status, 400)
  assert.match(short.body, /password/)
  const login = await new FormClient().send('POST', '/login', { email: 'short@example.com', password: 'short-but-not' })
  assert.equal(login.status, 401, 'the refused registration created nobody')
})

test('the cart changes by form, a bad quantity is shown on the cart with a 400 and changes nothing, and a form from another site is refused', async () => {
  const client = new FormClient()
  assert.equal((await client.send('POST', '/cart/items', { productId: '3', qty: '2' })).location, '/cart')
  assert.equal((await client.send('POST', '/cart/items', { productId: '4', qty: '1' })).status, 303)
  assert.match((await client.send('GET', '/cart')).body, /Cart \(3\)/)
  const bad = await client.send('POST', '/cart/items/3', { qty: '1000' })
  assert.equal(bad.status, 400)
  assert.match(bad.body, /role="alert"/)
  assert.match(bad.body, /Cart \(3\)/)
  assert.equal((await client.send('POST', '/cart/items/3', { qty: '5' })).status, 303)
  assert.equal((await client.send('POST', '/cart/items/4/remove', {})).status, 303)
  assert.match((await client.send('GET', '/cart')).body, /Cart \(5\)/)
  const forged = await client.send('POST', '/cart/items', { productId: '5', qty: '1' }, { origin: 'http://elsewhere.example', 'sec-fetch-site': 'cross-site' })
  assert.equal(forged.status, 403)
  assert.match(forged.body, /OUTGROW_FORBIDDEN/)
  assert.match((await client.send('GET', '/cart')).body, /Cart \(5\)/)
  const unknown = await client.send('POST', '/cart/items', { productId: '999999', qty: '1' })
  assert.equal(unknown.status, 404)
  assert.match(unknown.body, /<h1>Not found<\/h1>/)
})

test('checkout by form: the same form twice is one order, the history lists it, and an empty cart is refused on the cart page', async () => {
  const client = new FormClient()
  assert.equal((await client.send('POST', '/login', { email: 'user3@example.com', password: 'password123' })).status, 303)
  assert.equal((await client.send('POST', '/checkout', { idempotencyKey: 'form-empty' })).status, 409)
  assert.equal((await client.send('POST', '/cart/items', { productId: '7', qty: '1' })).status, 303)
  const cart = (await client.send('GET', '/cart')).body
  const key = /name="idempotencyKey" value="([^"]+)"/.exec(cart)?.[1] ?? ''
  assert.match(key, /^[0-9a-f-]{36}$/)
  const first = await client.send('POST', '/checkout', { idempotencyKey: key })
  const second = await client.send('POST', '/checkout', { idempotencyKey: key })
  assert.equal(first.status, 303)
  assert.match(first.location ?? '', /^\/orders\/\d+$/)
  assert.equal(second.location, first.location)
  const history = (await client.send('GET', '/orders')).body
  assert.equal([...history.matchAll(/<a href="\/orders\/\d+">/g)].length, 1)
  const order = await client.send('GET', first.location ?? '')
  assert.equal(order.status, 200)
  assert.match(order.body, /Status: <strong id="order-status">(pending|confirmed)<\/strong>/)
  assert.match(order.body, /<script src="\/assets\/order-status\.js" defer>/)
  assert.equal((await new FormClient().send('GET', first.location ?? '')).location, `/login?next=${encodeURIComponent(first.location ?? '')}`)
})
