import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, test } from 'node:test'
import { request } from 'undici'
import { loadStackConfig } from '../../src/config/load.js'
import { Stack } from '../../src/control/stack.js'
import { findBottleneck } from '../../src/lab/bottleneck.js'
import { startCpuWindow } from '../../src/lab/cpu-window.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { sleep } from '../helpers/wait.js'

// Level 2 (the app on app-1, PostgreSQL on db-primary) with app-1 given a tenth of a core and
// db-primary its default half: under load, the finder must name app-1 from the kernel's accounting.
// A tenth, not less: the app starts under its quota too, and Node's start-up costs about 2 CPU
// seconds, so a twentieth would take most of a minute just to bring app-1 up.

const SHOP = fileURLToPath(new URL('../../examples/shop/service.js', import.meta.url))
// Under this load app-1 is pinned at its quota (throttled in every CFS period): 5 s is 50 periods.
const WINDOW_MS = 5000

let dir: string
let stack: Stack
let url: string
let emulation: string

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outgrow-bottleneck-'))
  const config = join(dir, 'outgrow.config.json')
  await writeFile(config, JSON.stringify({
    app: { service: SHOP }, level: 2, port: await freePort(),
    seed: { products: 100, users: 5 }, emulation: { mode: 'auto' },
    topology: { servers: { 'app-1': { cpus: 0.1 } } },
  }))
  stack = new Stack({ loaded: await loadStackConfig(config), control: false, durable: false })
  const info = await stack.up()
  url = info.url
  emulation = info.emulation
})

after(async () => {
  try {
    await (stack as Stack | undefined)?.down()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

/** Keeps `concurrency` catalogue reads in flight until stopped. */
function startLoad (concurrency: number): { stop: () => Promise<number> } {
  let running = true
  let answered = 0
  const loop = async (worker: number): Promise<void> => {
    for (let i = 0; running; i++) {
      try {
        const path = (worker + i) % 2 === 0 ? `/api/products?page=${1 + (i % 3)}` : `/api/products/${1 + ((worker * 7 + i) % 100)}`
        const res = await request(`${url}${path}`, { headersTimeout: 10_000, bodyTimeout: 10_000 })
        await res.body.text()
        if (res.statusCode === 200) answered++
      } catch { /* a timed-out request under the quota; the load goes on */ }
    }
  }
  const loops = Array.from({ length: concurrency }, async (_, worker) => { await loop(worker) })
  return { stop: async () => { running = false; await Promise.all(loops); return answered } }
}

test('the bottleneck finder names the saturated server in a stack where one server is given a much smaller CPU quota', async (t) => {
  assert.match(emulation, /^cgroup v1/, `servers must be emulated by cgroup CPU quotas for this test (got: ${emulation}); run it as root with the cgroup v1 cpu controller mounted at /sys/fs/cgroup/cpu`)
  const load = startLoad(8)
  let answered: number
  let window
  try {
    await sleep(1000)
    const cpu = startCpuWindow(stack)
    await sleep(WINDOW_MS)
    window = await cpu.finish()
  } finally {
    answered = await load.stop()
  }
  const result = findBottleneck(window)
  t.diagnostic(result.verdict)
  const detail = `${result.verdict}\n${JSON.stringify(window, null, 1)}`
  assert.ok(answered > 0, `the load was answered: ${detail}`)
  const app = window.servers.find((s) => s.server === 'app-1')
  const db = window.servers.find((s) => s.server === 'db-primary')
  assert.equal(app?.source, 'cgroup', detail)
  assert.ok(Math.abs((app?.quotaCores ?? 0) - 0.1) < 1e-9, `app-1's quota is read from its cgroup: ${detail}`)
  assert.deepEqual(db?.residents.map((r) => r.role), ['postgres primary'], detail)
  assert.deepEqual(result.saturated.map((s) => s.server), ['app-1'], `only app-1 is at its quota: ${detail}`)
  assert.equal(result.kind, 'app', detail)
  assert.match(result.verdict, /^Bottleneck: app-1 \(app-1: app\) at \d+% of its 0\.1-core CPU quota/)
  assert.match(result.advice, /more app instances/)
})
