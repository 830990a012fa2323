import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { request } from 'undici'
import { startGateway } from '../../src/gateway/gateway-main.js'

async function instance (id: string): Promise<{ server: Server, url: string }> {
  const server = createServer((req, res) => {
    if (req.url === '/readyz') { res.end('ok'); return }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      res.writeHead(200, { 'x-outgrow-instance': id, 'content-type': 'application/json', connection: 'keep-alive' })
      res.end(JSON.stringify({ id, method: req.method, body: Buffer.concat(chunks).toString(), xff: req.headers['x-forwarded-for'], hop: req.headers['proxy-authorization'] ?? null }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

test('the gateway spreads requests, streams bodies, and routes around a dead instance', async () => {
  const instances = await Promise.all(['app-1', 'app-2', 'app-3'].map(instance))
  const gateway = await startGateway({
    role: 'gateway', instanceId: 'gw', host: '127.0.0.1', port: 0, balancer: 'round-robin',
    healthCheck: { intervalMs: 100, timeoutMs: 100, rise: 1, fall: 1, path: '/readyz' },
    instances: instances.map((i, n) => ({ id: `app-${n + 1}`, url: i.url })),
  })
  const base = `http://127.0.0.1:${gateway.port}`
  try {
    const seen = new Set<string>()
    for (let i = 0; i < 9; i++) {
      const res = await request(`${base}/x`)
      seen.add(String(res.headers['x-outgrow-instance']))
      await res.body.dump()
    }
    assert.deepEqual([...seen].sort(), ['app-1', 'app-2', 'app-3'])

    const post = await request(`${base}/echo`, { method: 'POST', body: 'hello body', headers: { 'proxy-authorization': 'secret' } })
    const echoed = await post.body.json() as { body: string, method: string, xff: string, hop: string | null }
    assert.equal(echoed.body, 'hello body')
    assert.equal(echoed.method, 'POST')
    assert.equal(echoed.xff, '127.0.0.1')
    assert.equal(echoed.hop, null, 'hop-by-hop headers are not forwarded')

    // An instance that dies: GETs keep succeeding on the others.
    await new Promise<void>((resolve) => { instances[1]?.server.closeAllConnections(); instances[1]?.server.close(() => { resolve() }) })
    for (let i = 0; i < 12; i++) {
      const res = await request(`${base}/after`)
      assert.equal(res.statusCode, 200)
      assert.notEqual(res.headers['x-outgrow-instance'], 'app-2')
      await res.body.dump()
    }
    assert.equal(gateway.upstreams[1]?.healthy, false)

    const malformed = await new Promise<string>((resolve) => {
      import('node:net').then(({ connect }) => {
        const socket = connect(gateway.port, '127.0.0.1', () => { socket.write('GARBAGE \x00\x01 HTTP/9\r\n\r\n') })
        let data = ''
        socket.on('data', (d: Buffer) => { data += d.toString() })
        socket.on('close', () => { resolve(data) })
      }, () => {})
    })
    assert.match(malformed, /^HTTP\/1\.1 400/)
    const stillAlive = await request(`${base}/__outgrow/healthz`)
    assert.equal(stillAlive.statusCode, 200)
    await stillAlive.body.dump()
  } finally {
    await gateway.close()
    for (const i of instances) { i.server.closeAllConnections(); i.server.close() }
  }
})

test('no healthy instance: 503 with Retry-After and a JSON error', async () => {
  const gateway = await startGateway({
    role: 'gateway', instanceId: 'gw', host: '127.0.0.1', port: 0, balancer: 'least-connections',
    healthCheck: { intervalMs: 100, timeoutMs: 100, rise: 1, fall: 1, path: '/readyz' },
    instances: [{ id: 'gone', url: 'http://127.0.0.1:1' }],
  })
  try {
    const res = await request(`http://127.0.0.1:${gateway.port}/api/products`)
    assert.equal(res.statusCode, 503)
    assert.equal(res.headers['retry-after'], '1')
    const body = await res.body.json() as { error: { code: string } }
    assert.equal(body.error.code, 'OUTGROW_NO_HEALTHY_UPSTREAM')
  } finally {
    await gateway.close()
  }
})
