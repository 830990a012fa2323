import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, test } from 'node:test'
import { request } from 'undici'
import { loadStackConfig } from '../../src/config/load.js'
import type { ScrapeTargetGroup } from '../../src/control/scrape-targets.js'
import { Stack } from '../../src/control/stack.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { waitUntil } from '../helpers/wait.js'

const SHOP = fileURLToPath(new URL('../../examples/shop/service.js', import.meta.url))

let dir: string
let dataDir: string
let stack: Stack | undefined

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outgrow-sd-stack-'))
  dataDir = join(dir, '.outgrow')
  const config = join(dir, 'outgrow.config.json')
  await writeFile(config, JSON.stringify({
    app: { service: SHOP }, level: 4, ha: false, port: await freePort(), replicas: 0,
    seed: { products: 20, users: 2 }, topology: { services: { app: { instances: { count: 1 } } } },
  }))
  stack = new Stack({ loaded: await loadStackConfig(config), dataDir, control: false, durable: false })
  await stack.up()
})

after(async () => {
  try {
    await stack?.down()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

async function targets (): Promise<ScrapeTargetGroup[]> {
  try {
    return JSON.parse(await readFile(join(dataDir, 'prometheus', 'targets.json'), 'utf8')) as ScrapeTargetGroup[]
  } catch {
    return []
  }
}

const apps = (groups: ScrapeTargetGroup[]): ScrapeTargetGroup[] => groups.filter((g) => g.labels.job === 'outgrow-app')

test('the service discovery file follows the stack: scaled up, every target scrapes; down, it is empty', async () => {
  const running = stack as Stack
  const first = await targets()
  assert.equal(apps(first).length, 1)
  assert.deepEqual(first.map((g) => g.labels.job).sort(), ['outgrow-app', 'outgrow-gateway', 'outgrow-worker'])
  assert.ok(first.every((g) => g.labels.stack !== '' && g.labels.level === '4'))

  running.scale({ app: 2 }, 'test')
  assert.ok(await waitUntil(async () => apps(await targets()).length === 2, 60_000, 100), 'the second instance appears in the file')
  const second = await targets()
  const names = new Set(running.info().processes.filter((p) => p.state === 'ready').map((p) => p.name))
  assert.ok(second.every((g) => names.has(g.labels.process as string)), 'only processes that run')
  for (const group of second) {
    // What Prometheus would scrape: the target's address and its __metrics_path__.
    const res = await request(`http://${group.targets[0] as string}${group.labels.__metrics_path__ as string}`)
    const text = await res.body.text()
    assert.equal(res.statusCode, 200, `${group.labels.process as string}: ${text.slice(0, 200)}`)
    assert.match(text, /^process_cpu_seconds_total /m)
  }

  running.scale({ app: 1 }, 'test')
  assert.ok(await waitUntil(async () => apps(await targets()).length === 1, 60_000, 100), 'the instance that left leaves the file')

  await running.down()
  assert.deepEqual(await targets(), [], 'a stopped stack has no targets')
})
