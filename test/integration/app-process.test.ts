import assert from 'node:assert/strict'
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, test } from 'node:test'
import { request } from 'undici'
import type { ProcessConfigInput } from '../../src/config/process-config.js'
import { RedisRegistry } from '../../src/gateway/redis-registry.js'
import { startRedis } from '../helpers/engines.js'
import { sleep, waitUntil } from '../helpers/wait.js'

const PROCESS_MAIN = fileURLToPath(new URL('../../src/runtime/process-main.js', import.meta.url))

/** A service with one slow route; it never touches the database, so none is started. */
const SERVICE = `export default {
  name: 'probe',
  routes (app) {
    app.get('/slow', async (request) => {
      await new Promise((resolve) => setTimeout(resolve, Number(request.query.ms)))
      return { slept: Number(request.query.ms) }
    })
  },
}
`

interface Ready { type: 'ready', address: string, port: number, url: string }

let redisUrl = ''
let stopRedis: () => Promise<void> = async () => {}
let dir = ''
let registry: RedisRegistry
before(async () => {
  const started = await startRedis()
  redisUrl = started.redis.url
  stopRedis = started.stop
  dir = await mkdtemp(join(tmpdir(), 'outgrow-app-process-'))
  await writeFile(join(dir, 'service.mjs'), SERVICE)
  registry = new RedisRegistry(redisUrl, 'app')
})
after(async () => {
  await registry.close()
  await stopRedis()
  await rm(dir, { recursive: true, force: true })
})

/** Starts process-main as the supervisor does (config in OUTGROW_PROCESS, IPC) and waits for its ready message. */
async function startApp (instanceId: string, extra: Partial<ProcessConfigInput> = {}): Promise<{ child: ChildProcess, ready: Ready }> {
  const config: ProcessConfigInput = {
    role: 'app',
    instanceId,
    host: '127.0.0.1',
    port: 0,
    service: join(dir, 'service.mjs'),
    adminToken: 'x'.repeat(8),
    db: { primary: 'postgres://outgrow@127.0.0.1:1/unused' },
    cache: { kind: 'memory' },
    session: { kind: 'memory' },
    jobs: { kind: 'inprocess' },
    registry: { url: redisUrl, cluster: 'app' },
    ...extra,
  } as ProcessConfigInput
  const child = fork(PROCESS_MAIN, { env: { ...process.env, OUTGROW_PROCESS: JSON.stringify(config) }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.on('message', (message: Ready) => { if (message.type === 'ready') resolve(message) })
    child.once('exit', (code) => { reject(new Error(`app exited with ${String(code)} before ready`)) })
  })
  return { child, ready }
}

async function stop (child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit') as [number | null]
  return code
}

const idsInRegistry = async (): Promise<string[]> => (await registry.list()).map((i) => i.id)

test('an app asked for port 0 reports the port it bound, and registers it on its publish host', async () => {
  const { child, ready } = await startApp('port-zero', { publishHost: 'localhost' })
  try {
    assert.ok(ready.port > 0, `a real port, not ${ready.port}`)
    assert.equal(ready.address, `http://127.0.0.1:${ready.port}`)
    assert.equal(ready.url, `http://localhost:${ready.port}`)
    assert.deepEqual(await registry.list(), [{ id: 'port-zero', url: `http://localhost:${ready.port}` }])
    const res = await request(`${ready.address}/healthz`)
    assert.equal(res.statusCode, 200)
    assert.equal((await res.body.json() as { instance: string }).instance, 'port-zero')
  } finally {
    await stop(child)
  }
})

test('on SIGTERM an app leaves the registry at once, then serves until nothing is in flight, then exits', async () => {
  const { child, ready } = await startApp('scale-in')
  const slow = request(`${ready.address}/slow?ms=3000`)
  await sleep(100) // the slow request is in flight
  const signalledAt = Date.now()
  child.kill('SIGTERM')
  const exited = once(child, 'exit') as Promise<[number | null]>
  try {
    assert.ok(await waitUntil(async () => !(await idsInRegistry()).includes('scale-in'), 1000), 'deregistered first')
    // Past the 1.5 s deregistration grace, a request from a gateway that noticed late is still served.
    await sleep(2000 - (Date.now() - signalledAt))
    const late = await request(`${ready.address}/slow?ms=10`)
    assert.equal(late.statusCode, 200)
    await late.body.dump()
    const first = await slow
    assert.equal(first.statusCode, 200)
    assert.deepEqual(await first.body.json(), { slept: 3000 })
    const [code] = await exited
    assert.equal(code, 0)
  } finally {
    await stop(child)
  }
})
