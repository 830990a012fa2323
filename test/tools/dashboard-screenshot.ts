import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { ControlClient } from '../../src/control/client.js'
import { dashboardUrlOf } from '../../src/control/control-files.js'
import { postgresDataRoot } from '../../src/supervisor/engines/pg-data-root.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { launchChromium } from '../helpers/browser.js'
import { startCli, stopCli } from '../helpers/cli.js'
import { shopClient } from '../helpers/http-client.js'

/** Reads and cart writes from a few clients until stopped, so the dashboard has something to show. */
function load (url: string, clients: number): () => Promise<void> {
  const call = shopClient(() => url)
  let stopping = false
  const run = async (c: number): Promise<void> => {
    const login = await call('POST', '/api/login', '', { email: `user${1 + (c % 5)}@example.com`, password: 'password123' }).catch(() => undefined)
    for (let n = 0; !stopping; n++) {
      const path = n % 5 === 0 ? '/api/cart/items' : `/api/products/${1 + ((n * 7 + c) % 100)}`
      await (n % 5 === 0 ? call('POST', path, login?.cookie, { productId: 1 + (n % 40), qty: 1 }) : call('GET', path)).catch(() => undefined)
      if (n % 100 === 99) await call('DELETE', '/api/cart', login?.cookie).catch(() => undefined)
    }
  }
  const running = Array.from({ length: clients }, async (_, c) => { await run(c) })
  return async () => { stopping = true; await Promise.all(running) }
}

/**
 * Writes docs/screenshots/dashboard.png (scripts/screenshots.sh): the live dashboard of a level 4
 * stack under a little load, one instance added by the page's scale action so the event log and
 * the chart markers have something in them.
 */
async function main (): Promise<void> {
  const out = resolve(process.argv[2] ?? 'docs/screenshots')
  await mkdir(out, { recursive: true })
  const browser = await launchChromium()
  const cwd = await mkdtemp(join(tmpdir(), 'outgrow-dashboard-shot-'))
  const cli = await startCli(['up', '--level', '4', '--port', String(await freePort()), '--products', '200', '--users', '5', '--cpus', '0.5'], cwd, 180_000)
  const stopLoad = load(cli.ready.url, 6)
  try {
    const control = ControlClient.forDataDir(join(cwd, '.outgrow'))
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    page.setDefaultTimeout(60_000)
    await page.goto(dashboardUrlOf(control.endpoint.url, control.endpoint.token))
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
    await new Promise((resolve) => setTimeout(resolve, 8000))
    await page.getByLabel('Scale service').selectOption('app')
    await page.getByLabel('Instance count').fill('4')
    await page.getByRole('button', { name: 'Scale', exact: true }).click()
    await page.getByText('4 app instances (4 healthy)').waitFor()
    await new Promise((resolve) => setTimeout(resolve, 12_000))
    await page.screenshot({ path: join(out, 'dashboard.png'), fullPage: true })
    process.stdout.write(`${join(out, 'dashboard.png')}\n`)
  } finally {
    await stopLoad()
    await browser.close()
    await stopCli(cli)
    await rm(postgresDataRoot(join(cwd, '.outgrow')), { recursive: true, force: true })
    await rm(cwd, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
