import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { ControlClient } from '../../src/control/client.js'
import { dashboardUrlOf } from '../../src/control/control-files.js'
import { postgresDataRoot } from '../../src/supervisor/engines/pg-data-root.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { launchChromium } from '../helpers/browser.js'
import { startCli, stopCli, type RunningCli } from '../helpers/cli.js'
import { waitUntil } from '../helpers/wait.js'

/**
 * The live dashboard of a real level 4 stack (`outgrow up`), in Chromium: opened through the URL
 * with the token that `up` prints, it draws the topology, follows `outgrow scale` within 2 s,
 * shows an instance killed from its button dead and then back, and feeds its charts. Sizes beyond
 * what this machine runs are test/e2e/dashboard-synthetic.test.ts.
 */
let cwd: string
let cli: RunningCli
let control: ControlClient
let browser: Browser
let context: BrowserContext
let page: Page

interface StatusProcess { name: string, role: string, state: string, restarts: number }
const apps = async (): Promise<StatusProcess[]> => (await control.call<{ processes: StatusProcess[] }>('GET', '/v1/status')).processes.filter((p) => p.role === 'app')

/** The dashboard's address with its token, as `outgrow up` prints it. */
function dashboardUrl (): string {
  const printed = /^outgrow: (?:\[[^\]]*\] )?dashboard: (http:\/\/\S+)$/m.exec(cli.stderr())?.[1]
  assert.ok(printed !== undefined, `outgrow up printed no dashboard URL:\n${cli.stderr()}`)
  assert.equal(printed, (cli.ready as { dashboard?: string }).dashboard, 'the ready line has it too')
  assert.equal(printed, dashboardUrlOf(control.endpoint.url, control.endpoint.token))
  return printed
}

before(async () => {
  browser = await launchChromium()
  cwd = await mkdtemp(join(tmpdir(), 'outgrow-dashboard-'))
  cli = await startCli(['up', '--level', '4', '--no-ha', '--port', String(await freePort()), '--products', '100', '--users', '5', '--cpus', '0.5'], cwd)
  control = ControlClient.forDataDir(join(cwd, '.outgrow'))
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  page = await context.newPage()
  page.setDefaultTimeout(20_000)
})
after(async () => {
  await browser?.close()
  if (cli !== undefined) await stopCli(cli)
  if (cwd !== undefined) {
    await rm(postgresDataRoot(join(cwd, '.outgrow')), { recursive: true, force: true })
    await rm(cwd, { recursive: true, force: true })
  }
})

test('opened with the printed token, the page shows the topology with every instance, live', async () => {
  const response = await page.goto(dashboardUrl())
  assert.equal(response?.status(), 200)
  assert.equal(new URL(page.url()).search, '', 'the token left the address bar')
  await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
  const count = (await apps()).length
  await page.getByText(`${count} app instances (${count} healthy)`).waitFor()
  const nodes = page.locator('#topology .node')
  for (let i = 1; i <= count; i++) await nodes.getByText(`app-${i}`, { exact: true }).waitFor()
  await nodes.getByText('gateway', { exact: true }).waitFor()
  assert.match(await nodes.filter({ hasText: 'postgres-primary' }).textContent() ?? '', /★ primary/)
})

test('after outgrow scale to N+2 the page shows N+2 within 2 s of the stack having them', async (t) => {
  const n = (await apps()).length
  await control.call('POST', '/v1/scale', { targets: { app: n + 2 } })
  let stackHadThem = 0
  const pageShows = page.getByText(`${n + 2} app instances (${n + 2} healthy)`).waitFor({ timeout: 60_000 }).then(() => Date.now())
  assert.ok(await waitUntil(async () => (await apps()).filter((p) => p.state === 'ready').length === n + 2, 60_000, 100), 'the stack scaled')
  stackHadThem = Date.now()
  const shown = await pageShows
  // The status poll runs every 100 ms, so the page may even be first.
  t.diagnostic(`the page showed ${n + 2} healthy instances ${shown - stackHadThem} ms after status reported them ready`)
  assert.ok(shown - stackHadThem <= 2000, `the page followed in ${shown - stackHadThem} ms`)
  assert.equal(await page.locator('#instances tbody tr').count(), n + 2)
})

test('an instance killed from its button shows dead or restarting, then healthy with one restart', async () => {
  const row = page.locator('#instances tbody tr[data-name="app-2"]')
  const before = Number(await row.locator('td').nth(8).textContent())
  await page.getByRole('button', { name: 'Kill app-2', exact: true }).click()
  await page.getByText(/^kill app-2: accepted/).waitFor()
  await row.locator('td.status').filter({ hasText: /^(dead|restarting|starting)$/ }).waitFor()
  await row.locator('td.status').filter({ hasText: /^healthy$/ }).waitFor({ timeout: 30_000 })
  assert.equal(Number(await row.locator('td').nth(8).textContent()), before + 1, 'restarts')
  await page.locator('#topology .node[data-name="app-2"]').getByText(`healthy · restarts ${before + 1}`).waitFor()
  // The event log names who asked, and the restart that followed.
  await page.locator('#events li').filter({ hasText: /dashboard kill app-2 requested/ }).waitFor()
  await page.locator('#events li').filter({ hasText: /reconciler restart app-2 ok/ }).first().waitFor()
})

test('the charts receive points', async () => {
  const points = async (): Promise<number[]> => await page.locator('.chart').evaluateAll((charts) => charts.map((c) => Number((c as HTMLElement).dataset.points)))
  const first = await points()
  assert.ok(first.length >= 7 && first.every((p) => p > 0), String(first))
  await page.waitForFunction((n) => [...document.querySelectorAll<HTMLElement>('.chart')].every((c) => Number(c.dataset.points) > n), Math.max(...first))
})

test('without the token the dashboard is refused with its 401 page', async () => {
  const anonymous = await browser.newContext()
  const other = await anonymous.newPage()
  const response = await other.goto(new URL('/dashboard', dashboardUrl()).href)
  assert.equal(response?.status(), 401)
  await other.getByRole('heading', { name: 'The dashboard needs the stack\'s token' }).waitFor()
  assert.equal(await other.locator('#topology').count(), 0)
  const stream = await other.request.get(new URL('/dashboard/stream', dashboardUrl()).href)
  assert.equal(stream.status(), 401)
  await anonymous.close()
})
