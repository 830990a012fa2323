import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { request } from 'undici'
import { parseGatewayConfig, type GatewayConfigInput } from '../../src/config/gateway-config.js'
import type { ServerKind } from '../../src/gateway/http/server.js'
import { startGateway, type RunningGateway } from '../../src/gateway/server.js'
import { startBackend, type Backend } from '../helpers/backends.js'
import { SERVER_KINDS } from '../helpers/gateway-servers.js'

const cleanups: Array<() => Promise<void>> = []
after(async () => { for (const c of cleanups.reverse()) await c() })

/** Every test below runs once per client-facing server and HTTP client of the proxy (one shared suite, four pairs). */
let client: 'native' | 'undici' = 'native'
let server: ServerKind = 'native'

async function gatewayFor (backends: Backend[], extra: Partial<GatewayConfigInput> = {}): Promise<{ gw: RunningGateway, base: string, admin: string }> {
  const upstreams = { instances: backends.map((b) => ({ id: b.id, url: b.url })), healthCheck: { intervalMs: 100, timeoutMs: 100, rise: 1, fall: 1 }, client, ...extra.upstreams }
  const gw = await startGateway(parseGatewayConfig({ port: 0, admin: { port: 0 }, server, ...extra, upstreams }))
  cleanups.push(async () => { await gw.close() })
  return { gw, base: `http://127.0.0.1:${gw.port}`, admin: `http://127.0.0.1:${String(gw.adminPort)}` }
}

async function backends (...ids: string[]): Promise<Backend[]> {
  const list = await Promise.all(ids.map(async (id) => await startBackend(id)))
  cleanups.push(async () => { for (const b of list) await b.close() })
  return list
}

async function raw (port: number, text: string, waitMs = 3000): Promise<string> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => { socket.write(text) })
    let data = ''
    socket.on('data', (d: Buffer) => { data += d.toString() })
    socket.on('close', () => { resolve(data) })
    socket.on('error', () => { resolve(data) })
    setTimeout(() => { socket.destroy() }, waitMs).unref()
  })
}

for (const kind of SERVER_KINDS) for (const implementation of ['native', 'undici'] as const) {
describe(`gateway protocol (${kind} server, ${implementation} client)`, () => {
  before(() => { client = implementation; server = kind })

  it('spreads requests, streams bodies, strips hop-by-hop headers, sets forwarding headers and a request id', async () => {
    const bs = await backends('p1', 'p2', 'p3')
    const { base } = await gatewayFor(bs)
    const seen = new Set<string>()
    for (let i = 0; i < 9; i++) {
      const res = await request(`${base}/x`)
      seen.add(String(res.headers['x-outgrow-instance']))
      assert.match(String(res.headers['x-request-id']), /^[0-9a-f]{8}-[0-9a-z]+$/)
      await res.body.dump()
    }
    assert.deepEqual([...seen].sort(), ['p1', 'p2', 'p3'])
    const res = await request(`${base}/echo?q=1`, {
      method: 'POST', body: 'hello body',
      headers: { 'proxy-authorization': 'secret', 'x-forwarded-for': '6.6.6.6', 'x-request-id': 'spoofed' },
    })
    const echoed = await res.body.json() as { body: string, method: string, url: string, headers: Record<string, string> }
    assert.equal(echoed.body, 'hello body')
    assert.equal(echoed.url, '/echo?q=1')
    assert.equal(echoed.headers['x-forwarded-for'], '127.0.0.1', 'an untrusted client cannot spoof X-Forwarded-For')
    assert.equal(echoed.headers['x-forwarded-proto'], 'http')
    assert.notEqual(echoed.headers['x-request-id'], 'spoofed')
    assert.equal(echoed.headers['proxy-authorization'], undefined)
    const port = Number(new URL(base).port)
    const rawReply = await raw(port, 'GET /raw HTTP/1.1\r\nHost: x\r\nConnection: close, x-drop-me\r\nX-Drop-Me: 1\r\nX-Keep: 2\r\n\r\n')
    assert.match(rawReply, /"x-keep":"2"/)
    assert.doesNotMatch(rawReply, /x-drop-me/, 'headers named in Connection are hop-by-hop')
  })

  it('trusts X-Forwarded-For only from configured peers', async () => {
    const bs = await backends('t1')
    const { base } = await gatewayFor(bs, { trustForwardedFrom: ['127.0.0.1'] })
    const res = await request(`${base}/`, { headers: { 'x-forwarded-for': '203.0.113.9', 'x-request-id': 'abc-123' } })
    const echoed = await res.body.json() as { headers: Record<string, string> }
    assert.equal(echoed.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1')
    assert.equal(echoed.headers['x-real-ip'], '203.0.113.9')
    assert.equal(echoed.headers['x-request-id'], 'abc-123')
  })

  it('answers malformed requests with 400, slow headers with 408, huge headers with 431, big bodies with 413, and stays up', async () => {
    const bs = await backends('m1')
    const { gw, base } = await gatewayFor(bs, { limits: { headersTimeoutMs: 500, requestTimeoutMs: 1000, maxHeaderBytes: 2048, maxBodyBytes: 1000 } })
    assert.match(await raw(gw.port, 'GARBAGE \x00\x01 HTTP/9\r\n\r\n'), /^HTTP\/1\.1 400/)
    assert.match(await raw(gw.port, 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'), /^HTTP\/1\.1 400/)
    const hitsBefore = (bs[0] as Backend).hits
    assert.match(await raw(gw.port, 'GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n'), /^HTTP\/1\.1 400/, 'no open proxying')
    assert.equal((bs[0] as Backend).hits, hitsBefore)
    assert.match(await raw(gw.port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ', 4000), /^HTTP\/1\.1 408/)
    assert.match(await raw(gw.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4000)}\r\n\r\n`), /^HTTP\/1\.1 431/)
    const big = await request(`${base}/`, { method: 'POST', body: 'x'.repeat(2000) })
    assert.equal(big.statusCode, 413)
    await big.body.dump()
    for (let i = 0; i < 50; i++) {
      const junk = Buffer.from(Array.from({ length: 40 + i }, (_, j) => (i * 31 + j * 7) % 256))
      const reply = await raw(gw.port, junk.toString('latin1') + '\r\n\r\n', 1500)
      assert.ok(reply === '' || /^HTTP\/1\.1 4\d\d/.test(reply), `fuzz ${i}: ${reply.slice(0, 30)}`)
    }
    const alive = await request(`${base}/`)
    assert.equal(alive.statusCode, 200)
    await alive.body.dump()
  })

  it('passes WebSocket upgrades through', async () => {
    const bs = await backends('w1')
    const { gw } = await gatewayFor(bs)
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(gw.port, '127.0.0.1', () => {
        socket.write('GET /socket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
      })
      let data = ''
      socket.on('data', (d: Buffer) => {
        data += d.toString()
        if (data.includes('\r\n\r\n') && !data.includes('w1:ping')) socket.write('ping')
        if (data.includes('w1:ping')) { socket.destroy(); resolve(data) }
      })
      setTimeout(() => { socket.destroy(); resolve(data) }, 3000).unref()
    })
    assert.match(reply, /^HTTP\/1\.1 101/)
    assert.match(reply, /w1:ping/)
  })

  it('serves the static store with ETag and Cache-Control before proxying', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outgrow-static-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    await writeFile(join(dir, 'index.html'), '<h1>home</h1>')
    const bs = await backends('s1')
    const { base } = await gatewayFor(bs, { static: { dir, maxAgeSeconds: 30 } })
    const page = await request(`${base}/`)
    assert.equal(page.statusCode, 200)
    assert.equal(await page.body.text(), '<h1>home</h1>')
    const etag = String(page.headers.etag)
    assert.equal(page.headers['cache-control'], 'public, max-age=30')
    const again = await request(`${base}/`, { headers: { 'if-none-match': etag } })
    assert.equal(again.statusCode, 304)
    await again.body.dump()
    const proxied = await request(`${base}/api/anything`)
    assert.equal(proxied.headers['x-outgrow-instance'], 's1')
    await proxied.body.dump()
    const traversal = await request(`${base}/..%2f..%2fetc%2fpasswd`)
    assert.equal(traversal.headers['x-outgrow-instance'], 's1', 'no file outside the store is served')
    await traversal.body.dump()
  })
})

describe(`gateway resilience (${kind} server, ${implementation} client)`, () => {
  before(() => { client = implementation; server = kind })

  it('routes around a dead instance: safe requests retried, 503 with Retry-After when none is left', async () => {
    const bs = await backends('d1', 'd2')
    const { gw, base } = await gatewayFor(bs)
    await (bs[1] as Backend).close()
    for (let i = 0; i < 10; i++) {
      const res = await request(`${base}/after`)
      assert.equal(res.statusCode, 200)
      assert.equal(res.headers['x-outgrow-instance'], 'd1')
      await res.body.dump()
    }
    assert.equal(gw.cluster.members.find((u) => u.id === 'd2')?.state, 'unhealthy')
    await (bs[0] as Backend).close()
    const none = await request(`${base}/`)
    assert.ok(none.statusCode === 503 || none.statusCode === 502)
    const body = await none.body.json() as { error: { code: string } }
    assert.match(body.error.code, /OUTGROW_(NO_HEALTHY_UPSTREAM|UPSTREAM_FAILED)/)
    await new Promise((resolve) => setTimeout(resolve, 250))
    const later = await request(`${base}/`)
    assert.equal(later.statusCode, 503)
    assert.equal(later.headers['retry-after'], '1')
    await later.body.dump()
    const ready = await request(`${base}/__outgrow/readyz`)
    assert.equal(ready.statusCode, 503, 'the gateway is not ready without an instance')
    await ready.body.dump()
    const live = await request(`${base}/__outgrow/healthz`)
    assert.equal(live.statusCode, 200, 'but it is alive')
    await live.body.dump()
  })

  it('retries 503s for idempotent methods and Idempotency-Key requests only', async () => {
    const sick = await startBackend('sick', (_req, res) => { res.writeHead(503); res.end(); return true })
    const well = await startBackend('well')
    cleanups.push(async () => { await sick.close(); await well.close() })
    const { base } = await gatewayFor([sick, well], { routes: [{ balancer: 'round-robin', retries: { attempts: 2 } }], upstreams: { outlierDetection: { consecutiveFailures: 1000 }, circuitBreaker: { failureThreshold: 1000 } } })
    for (let i = 0; i < 6; i++) {
      const res = await request(`${base}/get`)
      assert.equal(res.statusCode, 200, 'GET retried on the healthy instance')
      await res.body.dump()
      const keyed = await request(`${base}/orders`, { method: 'POST', body: '{"a":1}', headers: { 'idempotency-key': `k${i}`, 'content-type': 'application/json' } })
      assert.equal(keyed.statusCode, 200)
      const echoed = await keyed.body.json() as { body: string }
      assert.equal(echoed.body, '{"a":1}', 'the buffered body is sent again intact')
    }
    const statuses = new Set<number>()
    for (let i = 0; i < 6; i++) {
      const res = await request(`${base}/orders`, { method: 'POST', body: '{}' })
      statuses.add(res.statusCode)
      await res.body.dump()
    }
    assert.ok(statuses.has(503), 'a POST without Idempotency-Key is never sent twice')
    const metrics = await (await request(`${base}/__outgrow/metrics`)).body.text()
    assert.match(metrics, /outgrow_gateway_upstream_retries_total\{upstream="sick"\} [1-9]/)
    assert.match(metrics, /outgrow_gateway_requests_total\{upstream="well",status="2xx"\} [1-9]/)
    assert.match(metrics, /outgrow_gateway_upstream_latency_seconds_count\{upstream="well"\} [1-9]/)
  })

  it('the retry budget caps retries when the whole fleet is sick', async () => {
    let hits = 0
    const bad = await Promise.all(['b1', 'b2', 'b3'].map(async (id) => await startBackend(id, (_req, res) => {
      hits++
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '2' })
      res.end('{"error":{"code":"APP_DB_FAILOVER"}}')
      return true
    })))
    cleanups.push(async () => { for (const b of bad) await b.close() })
    const { base } = await gatewayFor(bad, { routes: [{ retries: { attempts: 2, budgetPercent: 20, minRetryConcurrency: 0 } }], upstreams: { outlierDetection: { consecutiveFailures: 1000 }, circuitBreaker: { failureThreshold: 1000 } } })
    const before = hits
    const answers = await Promise.all(Array.from({ length: 200 }, async () => {
      const r = await request(`${base}/x`)
      return { status: r.statusCode, retryAfter: r.headers['retry-after'], body: await r.body.text() }
    }))
    const sent = hits - before
    assert.ok(sent <= 200 * 1.2 + 1, `${sent} upstream requests for 200 client requests: retries ≤ 20 %`)
    assert.ok(sent >= 200)
    // A retry the budget refuses is not a 502 of the gateway's: the client gets the instance's own answer.
    const foreign = answers.filter((a) => a.status !== 503 || a.retryAfter !== '2' || !a.body.includes('APP_DB_FAILOVER'))
    assert.deepEqual(foreign.slice(0, 3), [], `${foreign.length} of 200 answers were not the instances' own 503`)
  })

  it('the circuit breaker opens on a failing instance and stops sending to it', async () => {
    const failing = await startBackend('f', (_req, res) => { res.writeHead(500); res.end(); return true })
    const fine = await startBackend('ok')
    cleanups.push(async () => { await failing.close(); await fine.close() })
    const { gw, base } = await gatewayFor([failing, fine], { routes: [{ retries: { attempts: 0 } }], upstreams: { circuitBreaker: { failureThreshold: 3, openMs: 60_000 }, outlierDetection: { consecutiveFailures: 1000 } } })
    for (let i = 0; i < 20; i++) { const r = await request(`${base}/x`); await r.body.dump() }
    assert.equal(failing.hits, 3, 'three failures, then the breaker is open')
    assert.equal(gw.cluster.members.find((u) => u.id === 'f')?.breaker.state(Date.now()), 'open')
  })

  it('drains a deregistered instance: in-flight requests finish, new ones go elsewhere', async () => {
    const slow = await startBackend('slow', (_req, res) => { setTimeout(() => { res.writeHead(200, { 'x-outgrow-instance': 'slow' }); res.end('done') }, 400); return true })
    const other = await startBackend('other')
    cleanups.push(async () => { await slow.close(); await other.close() })
    const { gw, base, admin } = await gatewayFor([slow, other], { adminToken: 'admin-token-1' })
    const inflight = request(`${base}/slow`)
    await new Promise((resolve) => setTimeout(resolve, 50))
    const del = await request(`${admin}/__outgrow/admin/instances/slow`, { method: 'DELETE', headers: { authorization: 'Bearer admin-token-1' } })
    assert.equal(del.statusCode, 200)
    await del.body.dump()
    for (let i = 0; i < 5; i++) {
      const r = await request(`${base}/y`)
      assert.equal(r.headers['x-outgrow-instance'], 'other')
      await r.body.dump()
    }
    const finished = await inflight
    assert.equal(finished.statusCode, 200)
    assert.equal(await finished.body.text(), 'done')
    assert.equal(gw.cluster.members.some((u) => u.id === 'slow'), false)
  })

  it('the admin API lists instances with state and weights, and needs its token', async () => {
    const bs = await backends('a1', 'a2')
    const { admin } = await gatewayFor(bs, { adminToken: 'admin-token-2' })
    const anonymous = await request(`${admin}/__outgrow/admin/instances`)
    assert.equal(anonymous.statusCode, 401)
    await anonymous.body.dump()
    const wrong = await request(`${admin}/__outgrow/admin/instances`, { headers: { authorization: 'Bearer nope-nope-nope' } })
    assert.equal(wrong.statusCode, 403)
    await wrong.body.dump()
    const added = await startBackend('a3')
    cleanups.push(async () => { await added.close() })
    const post = await request(`${admin}/__outgrow/admin/instances`, { method: 'POST', headers: { authorization: 'Bearer admin-token-2' }, body: JSON.stringify({ id: 'a3', url: added.url, weight: 2 }) })
    assert.equal(post.statusCode, 201)
    await post.body.dump()
    const list = await request(`${admin}/__outgrow/admin/instances`, { headers: { authorization: 'Bearer admin-token-2' } })
    const body = await list.body.json() as { instances: Array<{ id: string, state: string, weight: number, breaker: string }> }
    assert.deepEqual(body.instances.map((i) => [i.id, i.state, i.weight, i.breaker]), [['a1', 'healthy', 1, 'closed'], ['a2', 'healthy', 1, 'closed'], ['a3', 'healthy', 2, 'closed']])
  })

  it('rate limits per client with 429 and Retry-After', async () => {
    const bs = await backends('r1')
    const { base } = await gatewayFor(bs, { routes: [{ pathPrefix: '/api', rateLimit: { perClient: { rate: 1, burst: 3, apiKeyHeader: 'x-api-key', apiKeys: ['team-a'] } } }, { pathPrefix: '/' }] })
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) { const r = await request(`${base}/api/x`); statuses.push(r.statusCode); if (r.statusCode === 429) assert.equal(r.headers['retry-after'], '1'); await r.body.dump() }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429])
    const keyed = await request(`${base}/api/x`, { headers: { 'x-api-key': 'team-a' } })
    assert.equal(keyed.statusCode, 200, 'an API key has its own bucket')
    await keyed.body.dump()
    const other = await request(`${base}/elsewhere`)
    assert.equal(other.statusCode, 200, 'routes without a limit are not limited')
    await other.body.dump()
  })

  it('sticky sessions set a cookie and keep the client on its instance', async () => {
    const bs = await backends('k1', 'k2', 'k3')
    const { base } = await gatewayFor(bs, { routes: [{ balancer: 'sticky' }] })
    const first = await request(`${base}/`)
    const cookie = String(first.headers['set-cookie']).split(';')[0] as string
    const pinned = first.headers['x-outgrow-instance']
    await first.body.dump()
    assert.match(cookie, /^outgrow\.upstream=k\d$/)
    for (let i = 0; i < 6; i++) {
      const r = await request(`${base}/`, { headers: { cookie } })
      assert.equal(r.headers['x-outgrow-instance'], pinned)
      assert.equal(r.headers['set-cookie'], undefined)
      await r.body.dump()
    }
  })
})
}
