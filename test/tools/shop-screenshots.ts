import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { DEMO_PASSWORD } from '../../examples/shop/seed.js'
import { launchChromium } from '../helpers/browser.js'
import { startShopStack } from '../helpers/shop-stack.js'

/**
 * Regenerates the shop's screenshots in docs/screenshots (scripts/screenshots.sh): the shop as a
 * person sees it, through the gateway, at 1280×800.
 */
async function main (): Promise<void> {
  const out = resolve(process.argv[2] ?? 'docs/screenshots')
  await mkdir(out, { recursive: true })
  const browser = await launchChromium()
  const stack = await startShopStack({ products: 200, users: 5 })
  try {
    await stack.startWorker()
    const context = await browser.newContext({ baseURL: stack.url, viewport: { width: 1280, height: 800 } })
    const page = await context.newPage()
    page.setDefaultTimeout(20_000)
    const shot = async (name: string): Promise<void> => {
      await page.screenshot({ path: join(out, `shop-${name}.png`) })
      process.stdout.write(`${join(out, `shop-${name}.png`)}\n`)
    }
    await page.goto('/login')
    await page.getByLabel('Email').fill('user1@example.com')
    await page.getByLabel('Password').fill(DEMO_PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByText('Signed in as').first().waitFor()
    await shot('home')
    await page.getByLabel('Search products').fill('kettle')
    await page.getByLabel('Search products').press('Enter')
    await page.getByRole('heading', { name: 'Results for “kettle”' }).waitFor()
    await shot('search')
    await page.getByRole('link', { name: 'Classic Kettle 12' }).click()
    await page.getByRole('navigation', { name: 'Account' }).getByText('Signed in as').waitFor()
    await shot('product')
    await page.getByRole('button', { name: 'Add to cart' }).click()
    await page.goto('/products/29')
    await page.getByRole('button', { name: 'Add to cart' }).click()
    await page.getByRole('heading', { name: 'Your cart' }).waitFor()
    await shot('cart')
    await page.getByRole('button', { name: 'Place order' }).click()
    await page.getByRole('status').filter({ hasText: 'Status: confirmed' }).waitFor()
    await shot('order')
    await context.close()
  } finally {
    await browser.close()
    await stack.stop()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
