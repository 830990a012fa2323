import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { runOpenLoop } from '../../src/lab/open-loop.js'
import type { PlannedRequest, VirtualUser } from '../../src/lab/user-mix.js'

const user: VirtualUser = { email: 'u', cookie: '', cartItems: 0 }
const plan = (): PlannedRequest => ({ action: 'product', method: 'GET', path: '/', user })

test('the offered rate is held whatever the server does, and latency counts from the intended send time', async () => {
  // The server answers one request at a time, 20 ms each: at most 50 req/s.
  let busyUntil = 0
  const server = createServer((_req, res) => {
    const start = Math.max(Date.now(), busyUntil)
    busyUntil = start + 20
    setTimeout(() => { res.writeHead(200, { 'x-outgrow-instance': 'one' }); res.end('ok') }, busyUntil - Date.now())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  try {
    const result = await runOpenLoop({ url, rate: 100, durationMs: 1000, connections: 200, timeoutMs: 10_000, next: plan })
    assert.equal(result.sent, 100, 'an open model sends rate × duration requests')
    assert.equal(result.ok, 100)
    // 100 requests queued behind a 20 ms server: the last waits ≈ 2 s from its intended time.
    assert.ok(result.latency.p99Ms > 900, `p99 ${result.latency.p99Ms} ms shows the queueing`)
    assert.ok(result.achievedRate < 70, `achieved ${result.achievedRate} req/s is the server's capacity, not the offered rate`)
    assert.equal(result.instances.one, 100)
  } finally {
    server.close()
  }
})

test('errors are counted by kind', async () => {
  const server = createServer((req, res) => { res.writeHead(req.url === '/' ? 503 : 200); res.end() })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  try {
    const result = await runOpenLoop({ url, rate: 50, durationMs: 200, connections: 10, timeoutMs: 1000, next: plan })
    assert.equal(result.errorsByKind['5xx:503'], result.sent)
    assert.equal(result.ok, 0)
  } finally {
    server.close()
  }
})
