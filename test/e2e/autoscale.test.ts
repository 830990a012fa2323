import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, test } from 'node:test'
import { request } from 'undici'
import { loadStackConfig } from '../../src/config/load.js'
import { Stack } from '../../src/control/stack.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { waitUntil } from '../helpers/wait.js'

const SHOP = fileURLToPath(new URL('../../examples/shop/service.js', import.meta.url))

let dir: string
let stack: Stack
let url: string

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outgrow-autoscale-'))
  const config = join(dir, 'outgrow.config.json')
  // A small level-4 stack whose app scales between 1 and 3 on a low ELU target, evaluated every 500 ms.
  await writeFile(config, JSON.stringify({
    app: { service: SHOP }, level: 4, port: await freePort(), replicas: 0,
    seed: { products: 50, users: 5 }, emulation: { cpusPerServer: 0.25 },
    topology: { services: { app: {
      instances: { count: 1, min: 1, max: 3 },
      autoscale: { metrics: [{ kind: 'elu', target: 0.2 }], behavior: { scaleDown: { stabilizationWindowSeconds: 3 } } },
    } } },
  }))
  stack = new Stack({ loaded: await loadStackConfig(config), control: false, durable: false, autoscaleSyncMs: 500 })
  url = (await stack.up()).url
})

after(async () => {
  try {
    await (stack as Stack | undefined)?.down()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

const appInstances = (state: 'ready' | 'any'): number =>
  stack.info().processes.filter((p) => p.role === 'app' && (state === 'any' || p.state === 'ready')).length

/** Keeps `concurrency` requests in flight until stopped: far more than one instance under a quarter core serves at ELU 0.2. */
function startLoad (concurrency: number): { stop: () => Promise<number> } {
  let running = true
  let answered = 0
  const loop = async (worker: number): Promise<void> => {
    for (let i = 0; running; i++) {
      try {
        const res = await request(`${url}/api/products?page=${1 + ((worker + i) % 3)}`)
        await res.body.text()
        if (res.statusCode === 200) answered++
      } catch { /* an instance leaving may reset a connection; the load goes on */ }
    }
  }
  const loops = Array.from({ length: concurrency }, async (_, worker) => { await loop(worker) })
  return { stop: async () => { running = false; await Promise.all(loops); return answered } }
}

test('a step of load scales the app above its minimum, and it comes back down once the load stops', async () => {
  assert.equal(appInstances('any'), 1)
  const load = startLoad(16)
  let grew: boolean
  try {
    grew = await waitUntil(async () => appInstances('ready') > 1, 45_000, 200)
  } finally {
    assert.ok(await load.stop() > 0, 'the load was answered')
  }
  assert.ok(grew, `the app did not grow above 1 instance under load: ${JSON.stringify(stack.autoscaleHistory().slice(-3))}`)
  assert.ok(stack.spec.services.app?.instances.count !== undefined && stack.spec.services.app.instances.count <= 3, 'never above max')

  const shrank = await waitUntil(async () => stack.spec.services.app?.instances.count === 1 && appInstances('any') === 1, 45_000, 200)
  assert.ok(shrank, `the app did not come back to 1 instance: spec ${stack.spec.services.app?.instances.count}, running ${appInstances('any')}`)

  const scales = stack.events.since(0).filter((e) => e.actor === 'autoscaler' && e.action === 'scale')
  const up = scales.find((e) => /^app=\d+: 1 → [23] /.test(e.detail ?? ''))
  const down = scales.find((e) => /^app=1: [23] → 1 /.test(e.detail ?? ''))
  assert.ok(up !== undefined, `a scale-up event: ${JSON.stringify(scales)}`)
  assert.ok(down !== undefined, `a scale-down event: ${JSON.stringify(scales)}`)
  for (const e of [up, down]) assert.match(e.detail ?? '', /elu=\d/, 'the event names the metric and its value')
})
