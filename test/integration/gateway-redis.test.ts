import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { request } from 'undici'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'
import { RedisRegistry } from '../../src/gateway/redis-registry.js'
import { startGateway } from '../../src/gateway/server.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { startBackend } from '../helpers/backends.js'
import { CLI, waitFor } from '../helpers/cli.js'
import { startRedis } from '../helpers/engines.js'

let redisUrl = ''
let stopRedis: () => Promise<void> = async () => {}
let dir = ''
before(async () => {
  const started = await startRedis()
  redisUrl = started.redis.url
  stopRedis = started.stop
  dir = await mkdtemp(join(tmpdir(), 'outgrow-gw-redis-'))
})
after(async () => {
  await stopRedis()
  await rm(dir, { recursive: true, force: true })
})

async function startGatewayProcess (config: object): Promise<{ child: ChildProcess, url: string }> {
  const file = join(dir, `gw-${Math.random().toString(36).slice(2)}.json`)
  await writeFile(file, JSON.stringify(config))
  const child = spawn(process.execPath, [CLI, 'gateway', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      const line = d.toString().split('\n').find((l) => l.startsWith('{'))
      if (line !== undefined) resolve((JSON.parse(line) as { url: string }).url)
    })
    child.once('exit', (code) => { reject(new Error(`gateway exited ${String(code)}: ${stderr}`)) })
  })
  return { child, url }
}

test('rate limits hold across two gateway processes sharing Redis', async () => {
  const backend = await startBackend('rl')
  const config = {
    upstreams: { instances: [{ id: 'rl', url: backend.url }] },
    rateLimitStore: { kind: 'redis', url: redisUrl },
    routes: [{ rateLimit: { perClient: { rate: 0.5, burst: 10 } } }],
  }
  const one = await startGatewayProcess({ ...config, port: await freePort() })
  const two = await startGatewayProcess({ ...config, port: await freePort() })
  try {
    let allowed = 0
    let limited = 0
    for (let i = 0; i < 30; i++) {
      const res = await request(`${i % 2 === 0 ? one.url : two.url}/x`)
      if (res.statusCode === 200) allowed++
      if (res.statusCode === 429) limited++
      await res.body.dump()
    }
    assert.equal(allowed, 10, 'one shared bucket of 10, not 10 per gateway')
    assert.equal(limited, 20)
  } finally {
    one.child.kill('SIGTERM')
    two.child.kill('SIGTERM')
    await backend.close()
  }
})

test('instances registered in Redis are found by every gateway, and drained when they leave', async () => {
  const registry = new RedisRegistry(redisUrl, 'shop')
  const a = await startBackend('reg-a')
  const b = await startBackend('reg-b')
  await registry.register({ id: 'reg-a', url: a.url })
  const config = parseGatewayConfig({ port: 0, upstreams: { registry: { kind: 'redis', url: redisUrl, cluster: 'shop' }, healthCheck: { intervalMs: 200 } } })
  const gateways = [await startGateway(config), await startGateway(config)]
  try {
    for (const gw of gateways) assert.deepEqual(gw.cluster.members.map((u) => u.id), ['reg-a'])
    await registry.register({ id: 'reg-b', url: b.url })
    assert.ok(await waitFor(() => gateways.every((gw) => gw.cluster.members.length === 2), 3000), 'both gateways see the new instance')
    for (const gw of gateways) {
      const seen = new Set<string>()
      for (let i = 0; i < 6; i++) {
        const res = await request(`http://127.0.0.1:${gw.port}/`)
        seen.add(String(res.headers['x-outgrow-instance']))
        await res.body.dump()
      }
      assert.deepEqual([...seen].sort(), ['reg-a', 'reg-b'])
    }
    await registry.deregister('reg-a')
    assert.ok(await waitFor(() => gateways.every((gw) => gw.cluster.members.map((u) => u.id).join() === 'reg-b'), 3000), 'both gateways drop it')
  } finally {
    for (const gw of gateways) await gw.close()
    await registry.close()
    await a.close()
    await b.close()
  }
})
