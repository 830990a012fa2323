import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { loginUsers } from '../../src/lab/virtual-users.js'

async function listen (server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

test('a login that times out is tried again after a growing pause, and the user gets the cookie', async () => {
  const tries: number[] = []
  const server = createServer((req, res) => {
    req.resume()
    tries.push(Date.now())
    if (tries.length <= 2) {
      res.writeHead(504, { 'content-type': 'application/json' }).end('{"error":{"code":"OUTGROW_UPSTREAM_TIMEOUT"}}')
      return
    }
    res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'outgrow.sid=abc; Path=/; HttpOnly' }).end('{}')
  })
  try {
    const users = await loginUsers(await listen(server), 1, 'password123', 1, 50)
    assert.equal(tries.length, 3)
    const [first, second, third] = tries as [number, number, number]
    assert.ok(second - first >= 45, `the first retry waits (${second - first} ms)`)
    assert.ok(third - second >= 95, `the second waits twice as long (${third - second} ms)`)
    assert.equal(users[0]?.cookie, 'outgrow.sid=abc')
  } finally {
    server.close()
  }
})

test('a login that keeps failing gives up after five tries with the server\'s answer', async () => {
  let tries = 0
  const server = createServer((req, res) => {
    req.resume()
    tries++
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"OUTGROW_OVERLOADED"}}')
  })
  try {
    await assert.rejects(loginUsers(await listen(server), 1, 'password123', 1, 1), /login of user1@example.com failed \(503\).*OUTGROW_OVERLOADED/)
    assert.equal(tries, 5)
  } finally {
    server.close()
  }
})

test('a refused login (4xx) is not retried', async () => {
  let tries = 0
  const server = createServer((req, res) => {
    req.resume()
    tries++
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"code":"OUTGROW_UNAUTHENTICATED"}}')
  })
  try {
    await assert.rejects(loginUsers(await listen(server), 2, 'wrong', 1, 1), /failed \(401\)/)
    assert.equal(tries, 1)
  } finally {
    server.close()
  }
})

test('logins start one at a time, go up to the concurrency while quick, and back to one at a time after a 5xx', async () => {
  let inFlight = 0
  let requests = 0
  let firstFailureAt = Infinity
  const crowded: number[] = []
  let mostAtOnce = 0
  const server = createServer((req, res) => {
    req.resume()
    inFlight++
    requests++
    // Once the logins that were under way when the first one failed have ended (30 ms each).
    if (Date.now() > firstFailureAt + 60 && inFlight > 1) crowded.push(inFlight)
    mostAtOnce = Math.max(mostAtOnce, inFlight)
    const failing = requests === 8
    setTimeout(() => {
      inFlight--
      if (failing) {
        firstFailureAt = Date.now()
        res.writeHead(504, { 'content-type': 'application/json' }).end('{"error":{"code":"OUTGROW_UPSTREAM_TIMEOUT"}}')
        return
      }
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': `outgrow.sid=s${requests}; Path=/` }).end('{}')
    }, 30)
  })
  try {
    const users = await loginUsers(await listen(server), 12, 'password123', 4, 20)
    assert.equal(users.length, 12)
    assert.ok(users.every((u) => u.cookie.startsWith('outgrow.sid=')), 'every user logged in')
    assert.equal(requests, 13, 'one retry')
    assert.ok(mostAtOnce > 1 && mostAtOnce <= 4, `quick logins went up to the concurrency (${mostAtOnce} at once)`)
    assert.deepEqual(crowded, [], 'no two logins at once after the failure')
  } finally {
    server.close()
  }
})
