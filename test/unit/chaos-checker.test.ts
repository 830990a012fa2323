import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { AckLog } from '../../src/lab/chaos/ack-log.js'
import { Checker } from '../../src/lab/chaos/checker.js'

/**
 * A fake shop: the first checkout of every key fails (a 503 for even keys, a dropped connection
 * for odd ones); the second places the order. A session dies after its first checkout, so the
 * client must log in again. It records what arrived.
 */
const attempts = new Map<string, number>()
const placed = new Map<string, number>()
const liveSessions = new Set<string>()
let logins = 0
let server: ReturnType<typeof createServer>
let url: string

function json (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
}

function handle (req: IncomingMessage, res: ServerResponse): void {
  const sid = /outgrow\.sid=([^;]+)/.exec(req.headers.cookie ?? '')?.[1]
  const loggedIn = sid !== undefined && liveSessions.has(sid)
  if (req.url === '/api/login') {
    const id = `s${++logins}`
    liveSessions.add(id)
    json(res, 200, { id: 1 }, { 'set-cookie': `outgrow.sid=${id}; Path=/` })
    return
  }
  if (req.method === 'GET') { json(res, 200, { items: [] }); return }
  if (!loggedIn) { json(res, 401, { error: { code: 'OUTGROW_UNAUTHENTICATED', retryable: false } }); return }
  if (req.url === '/api/cart/items') { json(res, 201, { qty: 1 }); return }
  const key = String(req.headers['idempotency-key'])
  const n = (attempts.get(key) ?? 0) + 1
  attempts.set(key, n)
  if (n === 1) {
    if (Number(key.split('-').at(-1)) % 2 === 1) { req.socket.destroy(); return }
    json(res, 503, { error: { code: 'OUTGROW_DB_UNAVAILABLE', retryable: true } })
    return
  }
  if (!placed.has(key)) placed.set(key, 1000 + placed.size)
  liveSessions.delete(sid)
  json(res, 201, { id: placed.get(key) })
}

before(async () => {
  server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
after(async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) })

describe('the checker workload', () => {
  it('retries the same key through a 503 and a dropped connection, logs in again after a 401, and acknowledges each order once', async () => {
    const t0 = performance.now()
    const acks = new AckLog(undefined, () => Date.now())
    const checker = new Checker({ url, rate: 40, clients: 2, password: 'pw', keyPrefix: 'run-', acks, now: () => performance.now() - t0 })
    await checker.loginAll()
    await checker.run(400)
    await checker.close()
    const orders = checker.outcomes
    assert.ok(orders.started >= 2, `orders were started (${orders.started})`)
    assert.equal(acks.acks.length, orders.started, 'every order was acknowledged in the end')
    assert.deepEqual({ ...orders, started: 0 }, { started: 0, refused: 0, indeterminate: 0, abandoned: 0 })
    for (const a of acks.acks) {
      assert.equal(attempts.get(a.key), 2, `${a.key} was sent twice, with the same key`)
      assert.equal(a.orderId, placed.get(a.key), 'the acknowledged id is the order placed under that key')
      assert.ok(a.ackedAt >= a.sentAt)
    }
    assert.equal(new Set(acks.acks.map((a) => a.key)).size, acks.acks.length, 'a fresh key per order')
    const failed = checker.requests.failed.checkout ?? {}
    assert.ok((failed['503 OUTGROW_DB_UNAVAILABLE'] ?? 0) >= 1, JSON.stringify(failed))
    assert.ok(Object.keys(failed).some((reason) => reason.startsWith('net:')), JSON.stringify(failed))
    assert.ok(logins > 2, `clients logged in again after their session died (${logins} logins)`)
    assert.ok((checker.requests.sent.read ?? 0) >= 2, 'reads ran alongside')
  })
})
