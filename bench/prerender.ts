import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as hdr from 'hdr-histogram-js'
import { Pool } from 'undici'
import type { ProcessConfigInput } from '../src/config/process-config.js'
import { PgDatabase } from '../src/data/pg-database.js'
import { NodeProcess } from '../src/supervisor/node-process.js'
import { PostgresServer } from '../src/supervisor/engines/postgres.js'
import { RedisServer } from '../src/supervisor/engines/redis.js'
import { freePort } from '../src/supervisor/free-port.js'
import shop from '../examples/shop/service.js'

/**
 * The pre-rendered product page against the dynamic one, through the gateway, in one run.
 * One app process (the shop as level 4 configures it: Redis cache and sessions, write-behind
 * views, pre-rendering into a static store; its jobs in the process) behind two gateway
 * processes: one serves the static store first (`static`), the other has none and proxies every
 * request (`dynamic`). The same product ids (uniform over IDS), CONNECTIONS requests in flight in a
 * closed loop, rounds interleaved static / dynamic so the machine's noise falls on both alike.
 * `node dist/bench/prerender.js [seconds per phase, default 6] [rounds, default 4]`. Prints one JSON object.
 */
const SECONDS = Number(process.argv[2] ?? '6')
const ROUNDS = Number(process.argv[3] ?? '4')
const IDS = 500
const CONNECTIONS = 16
const SERVICE = fileURLToPath(new URL('../examples/shop/service.js', import.meta.url))

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

interface Phase { readonly mode: 'static' | 'dynamic', readonly round: number, readonly requests: number, readonly perSecond: number, readonly p50Ms: number, readonly p99Ms: number, readonly errors: number, readonly staticShare: number }

/** CONNECTIONS loops of GET /products/<id> for `seconds`; latency per request in µs. */
async function phase (pool: Pool, mode: Phase['mode'], round: number, seconds: number): Promise<Phase> {
  const latencies = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
  let requests = 0
  let errors = 0
  let fromStore = 0
  const started = performance.now()
  const until = started + seconds * 1000
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (performance.now() < until) {
      const id = 1 + Math.floor(Math.random() * IDS)
      const sent = performance.now()
      const res = await pool.request({ method: 'GET', path: `/products/${id}` })
      await res.body.dump()
      latencies.recordValue(Math.max(1, Math.round((performance.now() - sent) * 1000)))
      requests++
      if (res.statusCode !== 200) errors++
      if (res.headers['x-outgrow-static'] === 'hit') fromStore++
    }
  }))
  const elapsed = (performance.now() - started) / 1000
  const result = {
    mode, round, requests, perSecond: Math.round(requests / elapsed),
    p50Ms: latencies.getValueAtPercentile(50) / 1000, p99Ms: latencies.getValueAtPercentile(99) / 1000,
    errors, staticShare: Math.round(fromStore / Math.max(1, requests) * 1000) / 1000,
  }
  latencies.destroy()
  return result
}

async function main (): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-bench-prerender-'))
  await chmod(dir, 0o755)
  const staticDir = join(dir, 'static')
  const processes: NodeProcess[] = []
  const primary = await PostgresServer.createPrimary({ name: 'bench-primary', dataDir: join(dir, 'pg'), logFile: join(dir, 'pg.log'), port: await freePort(), durable: true })
  const redis = new RedisServer({ name: 'bench-redis', dataDir: join(dir, 'redis'), logFile: join(dir, 'redis.log'), port: await freePort(), persistent: true })
  try {
    await primary.start()
    await primary.createDatabase()
    await redis.start()
    const setup = new PgDatabase({ primary: primary.url, replicas: [], poolSize: 2 })
    await shop.migrate?.(setup)
    await shop.seed?.(setup, { products: IDS, users: 10 })
    await setup.close()

    const target = { url: redis.url }
    const app: ProcessConfigInput = {
      role: 'app', instanceId: 'app-1', host: '127.0.0.1', port: await freePort(), service: SERVICE, adminToken: 'bench-admin-token',
      db: { primary: primary.url, poolSize: 10 }, cache: { kind: 'redis', ...target }, session: { kind: 'redis', ...target },
      jobs: { kind: 'inprocess', concurrency: 2 }, writeBehind: { kind: 'redis', ...target }, events: { kind: 'memory' },
      staticStore: { kind: 'directory', dir: staticDir }, trustProxy: ['loopback'],
    }
    const appProcess = new NodeProcess({ name: 'app-1', config: app, logDir: dir })
    processes.push(appProcess)
    const ready = await appProcess.start(() => {})
    const upstreams = { instances: [{ id: 'app-1', url: String(ready.url) }], healthCheck: { intervalMs: 1000 } }
    const gatewayPorts = { static: await freePort(), dynamic: await freePort() }
    for (const mode of ['static', 'dynamic'] as const) {
      const gateway = new NodeProcess({
        name: `gateway-${mode}`, logDir: dir,
        config: { role: 'gateway', instanceId: `gateway-${mode}`, gateway: { port: gatewayPorts[mode], admin: { port: 0 }, upstreams, ...(mode === 'static' ? { static: { dir: staticDir, maxAgeSeconds: 60 } } : {}) } },
      })
      processes.push(gateway)
      await gateway.start(() => {})
    }
    const pools = {
      static: new Pool(`http://127.0.0.1:${gatewayPorts.static}`, { connections: CONNECTIONS, pipelining: 1 }),
      dynamic: new Pool(`http://127.0.0.1:${gatewayPorts.dynamic}`, { connections: CONNECTIONS, pipelining: 1 }),
    }
    // The app's start enqueued the full render: wait until every page is in the store.
    for (let i = 0; ; i++) {
      const res = await pools.static.request({ method: 'GET', path: `/products/${IDS}` })
      await res.body.dump()
      if (res.headers['x-outgrow-static'] === 'hit') break
      if (i > 600) throw new Error('the pages were not pre-rendered within a minute')
      await sleep(100)
    }
    // Warm-up: connections, JIT and the cache's entries on both paths.
    await phase(pools.static, 'static', 0, 2)
    await phase(pools.dynamic, 'dynamic', 0, 2)
    const phases: Phase[] = []
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 === 1 ? (['static', 'dynamic'] as const) : (['dynamic', 'static'] as const)
      for (const mode of order) phases.push(await phase(pools[mode], mode, round, SECONDS))
    }
    const sum = (mode: Phase['mode'], f: (p: Phase) => number): number => phases.filter((p) => p.mode === mode).reduce((a, p) => a + f(p), 0)
    const median = (mode: Phase['mode'], f: (p: Phase) => number): number => {
      const values = phases.filter((p) => p.mode === mode).map(f).sort((a, b) => a - b)
      return values[Math.floor(values.length / 2)] ?? 0
    }
    const perSecond = { static: Math.round(sum('static', (p) => p.requests) / (ROUNDS * SECONDS)), dynamic: Math.round(sum('dynamic', (p) => p.requests) / (ROUNDS * SECONDS)) }
    console.log(JSON.stringify({
      machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverage: loadavg().map((l) => Math.round(l * 10) / 10) },
      settings: { secondsPerPhase: SECONDS, rounds: ROUNDS, connections: CONNECTIONS, productIds: IDS },
      perSecond,
      throughputRatio: Math.round(perSecond.static / Math.max(1, perSecond.dynamic) * 100) / 100,
      medianP99Ms: { static: median('static', (p) => p.p99Ms), dynamic: median('dynamic', (p) => p.p99Ms) },
      phases,
    }, null, 2))
    await pools.static.close()
    await pools.dynamic.close()
  } finally {
    for (const p of processes.reverse()) await p.stop().catch(() => {})
    await redis.stop().catch(() => {})
    await primary.stop().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
