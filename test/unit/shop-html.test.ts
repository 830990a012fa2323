import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Product } from '../../examples/shop/catalog-data.js'
import { renderCartBody } from '../../examples/shop/html/cart-page.js'
import { renderSearchBody } from '../../examples/shop/html/catalog-pages.js'
import { escapeHtml } from '../../examples/shop/html/escape.js'
import { renderPage, viewerLinks } from '../../examples/shop/html/layout.js'
import { renderOrderBody } from '../../examples/shop/html/order-pages.js'
import { renderProductPage } from '../../examples/shop/html/product-page.js'
import { crossOriginRefusal } from '../../examples/shop/routes/cross-origin.js'
import { safeNext } from '../../examples/shop/routes/viewer.js'

const hostile = '<script>alert("x")</script> & \'q\''
const product: Product = { id: 7, name: hostile, description: `<img src=x onerror=alert(1)>`, category: 'Books & <More>', priceCents: 1999, stock: 3 }

describe('the shop’s HTML', () => {
  it('escapes every character that could open markup or end an attribute', () => {
    assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;')
  })

  it('renders a product page with nothing of the visitor in it, and the product’s text escaped', () => {
    const html = renderProductPage(product)
    assert.equal(renderProductPage({ ...product }), html, 'a pure function of the product')
    assert.ok(!html.includes('<script>alert'), 'the name is text')
    assert.ok(!html.includes('<img'), 'the description is text')
    assert.ok(html.includes('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;q&#39;'))
    assert.match(html, /<form method="post" action="\/cart\/items">/)
    assert.match(html, /name="productId" value="7"/)
    // Without JavaScript the header offers what everyone may do; the account script fills it in.
    assert.match(html, /<a href="\/login">Log in<\/a>.*<a href="\/cart">Cart<\/a>/)
    assert.match(html, /<script src="\/assets\/account\.js" defer><\/script>/)
    assert.ok(!/Signed in|Cart \(/.test(html))
  })

  it('shows the viewer in dynamic pages’ headers, escaped', () => {
    assert.match(viewerLinks({ signedIn: true, name: '<b>Ada</b>', cartCount: 3 }), /Signed in as <strong>&#60;b&#62;Ada&#60;\/b&#62;<\/strong>.*Cart \(3\).*Log out/)
    assert.match(viewerLinks({ signedIn: false, name: undefined, cartCount: 0 }), /Log in.*Register.*Cart \(0\)/)
    assert.match(renderPage({ title: '<t>', body: '', account: '', query: '"><x' }), /<title>&#60;t&#62; · Outgrow Shop<\/title>[\s\S]*value="&#34;&#62;&#60;x"/)
  })

  it('escapes a search query in the heading and keeps it in the paging links', () => {
    const html = renderSearchBody('<b> & x', { items: [], page: 1, hasMore: true })
    assert.match(html, /Results for “&#60;b&#62; &#38; x”/)
    assert.match(html, /href="\/search\?q=%3Cb%3E%20%26%20x&#38;page=2"/)
  })

  it('puts a fresh idempotency key in the checkout form only for a signed-in buyer', () => {
    const cart = { items: [{ productId: 7, name: hostile, priceCents: 100, qty: 2, lineCents: 200 }], totalCents: 200 }
    const signedIn = renderCartBody(cart, { signedIn: true, checkoutKey: 'k-1' })
    assert.match(signedIn, /<form method="post" action="\/checkout"><input type="hidden" name="idempotencyKey" value="k-1">/)
    assert.ok(!signedIn.includes('<script>'))
    const anonymous = renderCartBody(cart, { signedIn: false, checkoutKey: 'k-2' })
    assert.ok(!anonymous.includes('action="/checkout"'))
    assert.match(anonymous, /href="\/login\?next=%2Fcart"/)
  })

  it('shows an order pending until its receipt is ready, the receipt escaped', () => {
    const base = { id: 5, totalCents: 100, createdAt: new Date('2026-01-02T03:04:05Z'), items: [] }
    const pending = renderOrderBody({ ...base, status: 'placed', receipt: null })
    assert.match(pending, /Status: <strong id="order-status">pending<\/strong>/)
    assert.match(pending, /<pre id="receipt" hidden>/)
    const confirmed = renderOrderBody({ ...base, status: 'confirmed', receipt: 'Customer: <a@b>' })
    assert.match(confirmed, /Status: <strong id="order-status">confirmed<\/strong>/)
    assert.match(confirmed, /<pre id="receipt">Customer: &#60;a@b&#62;<\/pre>/)
  })
})

describe('cross-site form protection', () => {
  const post = (headers: Parameters<typeof crossOriginRefusal>[1]): string | undefined => crossOriginRefusal('POST', headers)

  it('lets reads through whatever their origin', () => {
    assert.equal(crossOriginRefusal('GET', { secFetchSite: 'cross-site', origin: 'https://evil.example', host: 'shop.example' }), undefined)
  })

  it('decides by Fetch Metadata where the browser sends it', () => {
    assert.equal(post({ secFetchSite: 'same-origin', host: 'shop.example' }), undefined)
    assert.equal(post({ secFetchSite: 'none', host: 'shop.example' }), undefined)
    assert.match(post({ secFetchSite: 'cross-site', origin: 'https://shop.example', host: 'shop.example' }) ?? '', /another site/)
    assert.match(post({ secFetchSite: 'same-site', host: 'shop.example' }) ?? '', /another site/)
  })

  it('else compares Origin with Host, and lets a request with neither through (no browser form)', () => {
    assert.equal(post({ origin: 'http://shop.example:8080', host: 'shop.example:8080' }), undefined)
    assert.ok(post({ origin: 'http://evil.example', host: 'shop.example' }) !== undefined)
    assert.ok(post({ origin: 'http://shop.example:8081', host: 'shop.example:8080' }) !== undefined)
    assert.ok(post({ origin: 'null', host: 'shop.example' }) !== undefined)
    assert.equal(post({ host: 'shop.example' }), undefined)
  })
})

describe('where a form sends the person next', () => {
  it('keeps paths on this site and refuses anything that leaves it', () => {
    assert.equal(safeNext('/cart'), '/cart')
    assert.equal(safeNext('/orders/5?x=1'), '/orders/5?x=1')
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example', 'cart', '', undefined, 5, '/a b']) assert.equal(safeNext(bad), '/', String(bad))
  })
})
