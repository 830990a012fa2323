import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ProcessConfigInput } from '../../src/config/process-config.js'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'
import { PgDatabase } from '../../src/data/pg-database.js'
import { startGateway, type RunningGateway } from '../../src/gateway/server.js'
import shop from '../../examples/shop/service.js'
import { startEngines, type TestEngines } from './engines.js'

const PROCESS_MAIN = fileURLToPath(new URL('../../src/runtime/process-main.js', import.meta.url))
const SHOP_SERVICE = fileURLToPath(new URL('../../examples/shop/service.js', import.meta.url))

interface Ready { type: 'ready', url: string }

/** A process of the stack: an app instance or the worker. */
export interface StackProcess {
  readonly id: string
  readonly child: ChildProcess
  readonly url: string
  stop(): Promise<void>
}

/**
 * The shop as a person meets it: a gateway in front of two app instances (processes), sharing
 * PostgreSQL and Redis (sessions, notices, the job queue); a worker process renders receipts once
 * `startWorker` is called, so a test can see an order pending first.
 */
export interface ShopStack {
  /** The gateway's address: what the browser opens. */
  readonly url: string
  readonly apps: readonly StackProcess[]
  startWorker(): Promise<StackProcess>
  stop(): Promise<void>
}

async function startProcess (config: ProcessConfigInput): Promise<StackProcess> {
  const child = fork(PROCESS_MAIN, { env: { ...process.env, OUTGROW_PROCESS: JSON.stringify(config) }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.on('message', (message: Ready) => { if (message.type === 'ready') resolve(message) })
    child.once('exit', (code) => { reject(new Error(`${config.instanceId} exited with ${String(code)} before it was ready`)) })
  })
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 10_000)
    await exited
    clearTimeout(timer)
  }
  return { id: config.instanceId, child, url: ready.url, stop }
}

export async function startShopStack (options: { products?: number, users?: number } = {}): Promise<ShopStack> {
  const engines: TestEngines = await startEngines({ redis: true })
  const running: StackProcess[] = []
  let gateway: RunningGateway | undefined
  const stop = async (): Promise<void> => {
    await gateway?.close()
    await Promise.all(running.map(async (p) => { await p.stop() }))
    await engines.stop()
  }
  try {
    const setup = new PgDatabase({ primary: engines.primary.url, replicas: [], poolSize: 2, replicaPollMs: 20 })
    await shop.migrate?.(setup)
    await shop.seed?.(setup, { products: options.products ?? 60, users: options.users ?? 5 })
    await setup.close()
    const redis = engines.redis?.url as string
    const base = (role: 'app' | 'worker', instanceId: string): ProcessConfigInput => ({
      role,
      instanceId,
      host: '127.0.0.1',
      port: 0,
      service: SHOP_SERVICE,
      adminToken: 'browser-test-admin-token',
      db: { primary: engines.primary.url, poolSize: 5 },
      cache: { kind: 'redis', url: redis },
      session: { kind: 'redis', url: redis, ttlSeconds: 3600 },
      jobs: { kind: 'bullmq', url: redis },
      trustProxy: ['loopback'],
    })
    const starting = ['app-1', 'app-2'].map(async (id) => await startProcess(base('app', id)))
    // Every one that started is stopped, even if another failed.
    const started = await Promise.allSettled(starting)
    for (const result of started) if (result.status === 'fulfilled') running.push(result.value)
    for (const result of started) if (result.status === 'rejected') throw result.reason
    gateway = await startGateway(parseGatewayConfig({
      port: 0,
      upstreams: { instances: running.map((p) => ({ id: p.id, url: p.url })), healthCheck: { intervalMs: 200, timeoutMs: 500, rise: 1, fall: 1 } },
    }))
    const url = `http://127.0.0.1:${gateway.port}`
    return {
      url,
      apps: [...running],
      startWorker: async () => {
        const worker = await startProcess(base('worker', 'worker-1'))
        running.push(worker)
        return worker
      },
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}
