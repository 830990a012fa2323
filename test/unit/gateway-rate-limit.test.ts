import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { after, describe, it } from 'node:test'
import { request } from 'undici'
import { parseGatewayConfig, type GatewayConfigInput } from '../../src/config/gateway-config.js'
import { OutgrowError } from '../../src/errors/index.js'
import { startGateway } from '../../src/gateway/server.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { startBackend, type Backend } from '../helpers/backends.js'

const cleanups: Array<() => Promise<void>> = []
after(async () => { for (const c of cleanups.reverse()) await c() })

let backend: Backend | undefined
async function gatewayWith (extra: Partial<GatewayConfigInput>): Promise<string> {
  if (backend === undefined) {
    const started = await startBackend('rl1')
    backend = started
    cleanups.push(async () => { await started.close() })
  }
  const gw = await startGateway(parseGatewayConfig({ port: 0, upstreams: { instances: [{ id: 'rl1', url: backend.url }] }, ...extra }))
  cleanups.push(async () => { await gw.close() })
  return `http://127.0.0.1:${gw.port}`
}

async function status (url: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await request(url, { headers })
  await res.body.dump()
  return res.statusCode
}

/** Opens a WebSocket upgrade and returns the status line the gateway answers with. */
async function upgradeStatus (base: string): Promise<string> {
  const { port } = new URL(base)
  return await new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
    })
    let data = ''
    socket.on('data', (d: Buffer) => {
      data += d.toString()
      if (data.includes('\r\n')) { socket.destroy(); resolve(data.split('\r\n')[0] as string) }
    })
    socket.on('close', () => { resolve(data.split('\r\n')[0] as string) })
    socket.on('error', () => {})
  })
}

async function storeErrors (base: string): Promise<Record<string, number>> {
  const res = await request(`${base}/__outgrow/metrics`)
  const text = await res.body.text()
  const counts: Record<string, number> = {}
  for (const m of text.matchAll(/^outgrow_gateway_rate_limit_store_errors_total\{outcome="(\w+)"\} (\d+)/gm)) counts[m[1] as string] = Number(m[2])
  return counts
}

const sha256 = (key: string): string => createHash('sha256').update(key).digest('hex')

describe('gateway rate limits', () => {
  it('gives buckets of their own only to known API keys: made-up keys share the client\'s IP bucket', async () => {
    const base = await gatewayWith({ routes: [{ rateLimit: { perClient: { rate: 0.01, burst: 2, apiKeyHeader: 'x-api-key', apiKeys: ['known-key-one'], apiKeySha256: [sha256('known-key-two')] } } }] })
    const rotating: number[] = []
    for (let i = 0; i < 4; i++) rotating.push(await status(`${base}/x`, { 'x-api-key': randomBytes(8).toString('hex') }))
    assert.deepEqual(rotating, [200, 200, 429, 429], 'rotating unknown keys cannot escape the per-client limit')
    assert.equal(await status(`${base}/x`), 429, 'they were counted against the client\'s IP')
    assert.equal(await status(`${base}/x`, { 'x-api-key': 'known-key-one' }), 200, 'a configured key has its own bucket')
    assert.equal(await status(`${base}/x`, { 'x-api-key': 'known-key-two' }), 200, 'a key known by its SHA-256 too')
  })

  it('refuses an API key header without known keys', () => {
    assert.throws(() => parseGatewayConfig({ routes: [{ rateLimit: { perClient: { rate: 1, burst: 1, apiKeyHeader: 'x-api-key' } } }] }),
      (err: unknown) => err instanceof OutgrowError && err.code === 'OUTGROW_CONFIG_INVALID' && /apiKeyHeader/.test(err.message))
  })

  it('limits WebSocket upgrades like other requests', async () => {
    const base = await gatewayWith({ routes: [{ rateLimit: { perClient: { rate: 0.01, burst: 1 } } }] })
    assert.match(await upgradeStatus(base), /^HTTP\/1\.1 101/)
    assert.match(await upgradeStatus(base), /^HTTP\/1\.1 429/)
  })

  it('fails open or closed as configured when the shared store is down, and counts it', async () => {
    const down = `redis://127.0.0.1:${await freePort()}`
    const limit = [{ rateLimit: { perClient: { rate: 100, burst: 100 } } }]
    const open = await gatewayWith({ rateLimitStore: { kind: 'redis', url: down }, routes: limit })
    assert.equal(await status(`${open}/x`), 200, 'open by default: traffic passes unlimited')
    const closed = await gatewayWith({ rateLimitStore: { kind: 'redis', url: down, onError: 'closed' }, routes: limit })
    const refused = await request(`${closed}/x`)
    assert.equal(refused.statusCode, 503)
    assert.equal((await refused.body.json() as { error: { code: string } }).error.code, 'OUTGROW_DEPENDENCY_UNAVAILABLE')
    assert.match(await upgradeStatus(closed), /^HTTP\/1\.1 503/, 'upgrades too')
    // Both gateways live in this process and share its metrics registry.
    const counts = await storeErrors(closed)
    assert.equal(counts.allowed, 1)
    assert.equal(counts.refused, 2)
  })
})
