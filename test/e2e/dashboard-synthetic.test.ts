import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from '../helpers/browser.js'
import { startFakeDashboard, type FakeDashboard } from '../helpers/fake-dashboard.js'

/**
 * The dashboard page in a real browser against a synthetic stream (test/helpers/fake-dashboard.ts):
 * sizes no test machine runs (32 instances), a dropped stream, and what the actions send. The page
 * against a real stack is test/e2e/dashboard-browser.test.ts.
 */
let browser: Browser
let fake: FakeDashboard
before(async () => {
  browser = await launchChromium()
  fake = await startFakeDashboard({ instances: 32, intervalMs: 250 })
})
after(async () => {
  await browser?.close()
  await fake?.close()
})

async function open (): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  page.setDefaultTimeout(10_000)
  const errors: string[] = []
  page.on('pageerror', (err) => { errors.push(err.message) })
  await page.goto(`${fake.url}/dashboard`)
  await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
  page.once('close', () => { assert.deepEqual(errors, []) })
  return page
}

test('32 instances: every one is drawn in the topology and has its row; charts cap their lines', async () => {
  const page = await open()
  await page.getByText('32 app instances (32 healthy)').waitFor()
  // Each app instance is a node (its server, named alike, is the box around it).
  const nodes = page.locator('#topology .node')
  for (let i = 1; i <= 32; i++) assert.equal(await nodes.getByText(`app-${i}`, { exact: true }).count(), 1, `app-${i} in the picture`)
  assert.equal(await page.locator('#topology .node[data-role=app]').filter({ hasText: 'healthy · restarts 0' }).count(), 32)
  assert.equal(await page.locator('#instances tbody tr').count(), 32)
  assert.ok(await page.getByRole('button', { name: 'Kill app-32' }).isVisible())
  // The busiest eight and "others": nine lines, not 32.
  const legend = page.locator('#chart-instances .u-legend .u-series')
  assert.equal(await legend.count(), 1 + 9)
  assert.equal(await legend.filter({ hasText: 'others' }).count(), 1)
  // Points keep arriving, four a second; every chart is fed.
  const points = async (): Promise<number[]> => await page.locator('.chart').evaluateAll((charts) => charts.map((c) => Number((c as HTMLElement).dataset.points)))
  const first = await points()
  assert.equal(first.length, 7)
  await page.waitForFunction((before) => [...document.querySelectorAll<HTMLElement>('.chart')].every((c) => Number(c.dataset.points) >= before + 4), Math.max(...first))
  // Scaling down is reflected: rows and nodes are removed in place.
  fake.setInstances(30)
  await page.getByText('30 app instances (30 healthy)').waitFor()
  assert.equal(await page.locator('#instances tbody tr').count(), 30)
  assert.equal(await nodes.getByText('app-31', { exact: true }).count(), 0)
  assert.equal(await page.getByLabel('Instance count').inputValue(), '30', 'the scale form follows a scale made elsewhere')
  fake.setInstances(32)
  await page.close()
})

test('the actions call the control API as the dashboard, and say how it went; events reach the log', async () => {
  const page = await open()
  await page.getByRole('button', { name: 'Kill app-3', exact: true }).click()
  await page.getByText('kill app-3: accepted').waitFor()
  const row = page.locator('#instances tbody tr[data-name="app-3"]')
  await row.getByText('dead').waitFor()
  await row.getByText('healthy').waitFor()
  assert.equal(await row.locator('td').nth(8).textContent(), '1', 'restarts')
  await page.locator('#topology .node[data-name="app-3"]').getByText('healthy · restarts 1').waitFor()
  await page.locator('#events').getByText('dashboard kill app-3').waitFor()

  await page.getByLabel('Scale service').selectOption('app')
  assert.equal(await page.getByLabel('Instance count').inputValue(), '32', 'starts at the current count')
  await page.getByLabel('Instance count').fill('33')
  await page.getByRole('button', { name: 'Scale', exact: true }).click()
  await page.getByText('scale app to 33: accepted').waitFor()
  await page.getByText('33 app instances').waitFor()
  await page.getByRole('button', { name: 'Rolling restart' }).click()
  await page.getByText('rolling restart: accepted').waitFor()
  await page.getByLabel('Chaos scenario').selectOption('kill-primary')
  await page.getByRole('button', { name: 'Start scenario' }).click()
  await page.getByText('chaos kill-primary: accepted').waitFor()
  assert.deepEqual(fake.calls.map((c) => [c.path, c.body, c.actor]), [
    ['/v1/processes/app-3/kill', {}, 'dashboard'],
    ['/v1/scale', { targets: { app: 33 } }, 'dashboard'],
    ['/v1/rolling-restart', {}, 'dashboard'],
    ['/v1/chaos', { scenario: 'kill-primary' }, 'dashboard'],
  ])
  fake.setInstances(32)

  // An autoscaler decision is listed with the metric that drove it, and marked on the charts.
  fake.autoscale({ at: Date.now(), group: 'app', current: 32, ready: 32, metrics: { cpu: 0.93 }, decision: { desired: 36, reason: 'DesiredWithinRange', metric: 'cpu', ratio: 1.1, proposed: 36, } })
  await page.locator('#autoscaler').getByText('app 32 → 36, driven by cpu 0.93').waitFor()
  await page.close()
})

test('a dropped stream is shown, and the page reconnects by itself', async () => {
  const page = await open()
  fake.dropStreams()
  await page.getByRole('status').filter({ hasText: /^Disconnected/ }).waitFor()
  await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
  const samples = Number(await page.evaluate(() => document.body.dataset.samples))
  await page.waitForFunction((n) => Number(document.body.dataset.samples) > n, samples)
  await page.close()
})
