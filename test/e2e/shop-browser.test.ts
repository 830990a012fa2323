import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from '../helpers/browser.js'
import { startShopStack, type ShopStack } from '../helpers/shop-stack.js'

/**
 * A person's shop in a real browser (Chromium driven by playwright-core), through the gateway in
 * front of two app instances; a worker process renders the receipts. Everything is found by what
 * a person sees: roles, labels and text.
 */
let stack: ShopStack
let browser: Browser
before(async () => {
  // Chromium first: a missing one fails at once, with its install hint, before engines start.
  browser = await launchChromium()
  stack = await startShopStack({ products: 60, users: 5 })
})
after(async () => {
  await browser?.close()
  await stack?.stop()
})

const WAIT = { timeout: 15_000 }

async function newPage (javaScriptEnabled = true): Promise<Page> {
  const context = await browser.newContext({ baseURL: stack.url, javaScriptEnabled, viewport: { width: 1280, height: 800 } })
  const page = await context.newPage()
  page.setDefaultTimeout(WAIT.timeout)
  return page
}

test('with JavaScript off, a person browses: products, categories, search, a product page with its fallback links', async () => {
  const page = await newPage(false)
  await page.goto('/')
  await page.getByRole('heading', { name: 'Products' }).waitFor()
  await page.getByRole('navigation', { name: 'Categories' }).getByRole('link', { name: 'Books' }).click()
  await page.getByRole('heading', { name: 'Books' }).waitFor()
  await page.getByLabel('Search products').fill('kettle')
  await page.getByRole('button', { name: 'Search' }).click()
  await page.getByRole('heading', { name: 'Results for “kettle”' }).waitFor()
  await page.getByRole('link', { name: 'Classic Kettle 12' }).click()
  await page.getByRole('heading', { name: 'Classic Kettle 12' }).waitFor()
  assert.ok(await page.getByRole('button', { name: 'Add to cart' }).isVisible())
  // No script ran: the header keeps the links everyone gets.
  const account = page.getByRole('navigation', { name: 'Account' })
  assert.equal((await account.textContent())?.trim(), 'Log in · Register · Cart')
  // Adding works without JavaScript too: a form post and a redirect to the cart.
  await page.getByRole('button', { name: 'Add to cart' }).click()
  await page.getByRole('heading', { name: 'Your cart' }).waitFor()
  assert.ok(await page.getByRole('link', { name: 'Classic Kettle 12' }).isVisible())
  await page.context().close()
})

test('a person registers, searches, adds two products, checks out, and the order turns confirmed without a reload', async () => {
  const page = await newPage()
  const email = `ada-${Date.now()}@example.com`
  await page.goto('/')
  await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Register' }).click()
  await page.getByLabel('Name').fill('Ada <Lovelace>')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill('correct horse battery')
  await page.getByRole('button', { name: 'Register' }).click()
  // Escaped, not markup: the name reads as typed.
  await page.getByText('Signed in as Ada <Lovelace>').waitFor()

  for (const name of ['Classic Kettle 12', 'Deluxe Kettle 13']) {
    await page.getByLabel('Search products').fill('kettle')
    await page.getByLabel('Search products').press('Enter')
    await page.getByRole('link', { name }).click()
    await page.getByRole('heading', { name }).waitFor()
    // The product page is the same for everyone; its script fills in who is looking.
    await page.getByRole('navigation', { name: 'Account' }).getByText('Signed in as Ada <Lovelace>').waitFor()
    await page.getByRole('button', { name: 'Add to cart' }).click()
    await page.getByRole('heading', { name: 'Your cart' }).waitFor()
  }
  for (const name of ['Classic Kettle 12', 'Deluxe Kettle 13']) assert.ok(await page.getByRole('link', { name }).isVisible(), name)
  assert.ok(await page.getByRole('link', { name: 'Cart (2)' }).isVisible())
  await page.getByLabel('Quantity of Deluxe Kettle 13').fill('2')
  await page.getByRole('button', { name: 'Update Deluxe Kettle 13' }).click()
  await page.getByRole('link', { name: 'Cart (3)' }).waitFor()

  // The order page's event stream: which instance holds it.
  const streamOpened = page.waitForResponse((response) => response.url().endsWith('/api/events'))
  await page.getByRole('button', { name: 'Place order' }).click()
  const status = page.getByRole('status')
  await status.filter({ hasText: 'Status: pending' }).waitFor()
  const orderHeading = await page.getByRole('heading', { level: 1 }).textContent()
  assert.match(orderHeading ?? '', /^Order #\d+$/)
  await page.evaluate(() => { (window as unknown as { stayedHere: boolean }).stayedHere = true })
  const stream = await streamOpened
  assert.equal(stream.status(), 200, 'the page listens to its event stream')
  const holder = await stream.headerValue('x-outgrow-instance')
  assert.ok(holder === 'app-1' || holder === 'app-2', String(holder))

  // The instance holding the stream goes away; the browser reconnects through the gateway to the
  // other one. Then the worker renders the receipt and the notice reaches the page there.
  const stopping = stack.apps.find((app) => app.id === holder)?.stop()
  await stack.startWorker()
  await stopping
  await status.filter({ hasText: 'Status: confirmed' }).waitFor()
  assert.equal(await page.evaluate(() => (window as unknown as { stayedHere?: boolean }).stayedHere), true, 'the page was not reloaded')
  assert.match(await page.getByText(/^Receipt for order #\d+/).textContent() ?? '', new RegExp(`^Receipt for ${(orderHeading ?? '').replace('Order ', 'order ')}`))

  // The order history lists it, confirmed.
  await page.getByRole('link', { name: 'Orders', exact: true }).click()
  await page.getByRole('link', { name: orderHeading ?? '' }).waitFor()
  assert.equal(await page.getByRole('row').filter({ hasText: orderHeading ?? '' }).getByText('confirmed').count(), 1)

  // A double submit of one checkout form makes one order: both copies land on it.
  await page.goto('/search?q=lamp')
  await page.getByRole('link', { name: /Lamp/ }).first().click()
  await page.getByRole('button', { name: 'Add to cart' }).click()
  const key = `double-${Date.now()}`
  const origin = { origin: stack.url }
  const [first, second] = await Promise.all([1, 2].map(async () => await page.request.post('/checkout', { form: { idempotencyKey: key }, headers: origin, maxRedirects: 0 })))
  assert.equal(first?.status(), 303)
  assert.equal(second?.status(), 303)
  assert.match(first?.headers().location ?? '', /^\/orders\/\d+$/)
  assert.equal(second?.headers().location, first?.headers().location)

  // A form posted from another site changes nothing.
  const forged = await page.request.post('/cart/items', { form: { productId: '5', qty: '1' }, headers: { origin: 'http://elsewhere.example' }, maxRedirects: 0 })
  assert.equal(forged.status(), 403)
  assert.equal(((await forged.json()) as { error: { code: string } }).error.code, 'OUTGROW_FORBIDDEN')
  await page.goto('/cart')
  await page.getByText('Your cart is empty.').waitFor()

  // Logging out: the header says so.
  await page.getByRole('button', { name: 'Log out' }).click()
  await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Log in' }).waitFor()
  await page.context().close()
})
