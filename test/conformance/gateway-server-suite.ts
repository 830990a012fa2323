import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { after, describe, it } from 'node:test'
import { request } from 'undici'
import { parseGatewayConfig, type GatewayConfigInput } from '../../src/config/gateway-config.js'
import type { ServerKind } from '../../src/gateway/http/server.js'
import { startGateway, type RunningGateway } from '../../src/gateway/server.js'
import { startBackend, type Backend } from '../helpers/backends.js'

const cleanups: Array<() => Promise<void>> = []
after(async () => { for (const c of cleanups.reverse()) await c() })

/** A backend that answers /slow after a pause, /chunked in chunks, /sized with a length, /many with 40 headers; else echoes. */
async function backend (): Promise<Backend> {
  const b = await startBackend('h1', (req, res) => {
    if (req.url?.startsWith('/slow') === true) {
      setTimeout(() => { res.end('slow') }, 150)
      return true
    }
    if (req.url === '/chunked') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('one,')
      setTimeout(() => { res.end('two') }, 20)
      return true
    }
    if (req.url === '/sized') {
      res.writeHead(200, { 'content-length': '2' })
      res.end('ok')
      return true
    }
    if (req.url === '/many') {
      for (let i = 0; i < 40; i++) res.setHeader(`x-many-${i}`, String(i))
      res.end(String(Object.keys(req.headers).filter((h) => h.startsWith('x-in-')).length))
      return true
    }
    return false
  })
  cleanups.push(async () => { await b.close() })
  return b
}

async function gateway (server: ServerKind, b: Backend, extra: Partial<GatewayConfigInput> = {}): Promise<RunningGateway> {
  const gw = await startGateway(parseGatewayConfig({ port: 0, server, ...extra, upstreams: { instances: [{ id: b.id, url: b.url }], healthCheck: { intervalMs: 1000 } } }))
  cleanups.push(async () => { await gw.close() })
  return gw
}

/** Sends bytes on one connection; resolves with everything received once `done` says so, or when it closes. */
async function exchange (port: number, parts: string[], done: (received: string) => boolean = () => false, waitMs = 3000, halfClose = false): Promise<{ text: string, closed: boolean }> {
  return await new Promise((resolve) => {
    let text = ''
    let finished = false
    const finish = (closed: boolean): void => {
      if (finished) return
      finished = true
      socket.destroy()
      resolve({ text, closed })
    }
    const socket: Socket = connect(port, '127.0.0.1', () => {
      let delay = 0
      for (const part of parts) {
        setTimeout(() => { if (!socket.destroyed) socket.write(part) }, delay)
        delay += 50
      }
      if (halfClose) setTimeout(() => { if (!socket.destroyed) socket.end() }, delay - 50)
    })
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1')
      if (done(text)) finish(false)
    })
    socket.on('close', () => { finish(true) })
    socket.on('error', () => { finish(true) })
    setTimeout(() => { finish(false) }, waitMs).unref()
  })
}

const count = (text: string, pattern: RegExp): number => text.match(pattern)?.length ?? 0

/** A small deterministic generator, so a failing fuzz case can be replayed. */
function random (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

/**
 * What the gateway's client-facing HTTP/1 server guarantees, whichever implementation parses:
 * the native one and the node:http fallback each run it (gateway-http.test.ts).
 */
export function gatewayServerConformance (server: ServerKind): void {
  /** node:http ends a connection on the client's FIN (its half-open mode is not public): see docs/ARCHITECTURE.md. */
  const halfClose = server === 'native'
  it(`serves with the ${server} server`, async () => {
    assert.equal((await gateway(server, await backend())).server.kind, server)
  })

  describe(`gateway HTTP/1 server (${server} server)`, () => {
    it('answers pipelined requests in order, even when the first is the slowest', async () => {
      const gw = await gateway(server, await backend())
      const { text } = await exchange(gw.port, ['GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n'],
        (t) => count(t, /HTTP\/1\.1 200/g) === 3 && t.includes('"/b"'))
      assert.equal(count(text, /HTTP\/1\.1 200/g), 3)
      const slow = text.indexOf('slow')
      const a = text.indexOf('"url":"/a"')
      const b = text.indexOf('"url":"/b"')
      assert.ok(slow !== -1 && slow < a && a < b, `order: ${slow} ${a} ${b}`)
    })

    it('speaks HTTP/1.0: closes after the response unless keep-alive was asked for', async () => {
      const gw = await gateway(server, await backend())
      const plain = await exchange(gw.port, ['GET /x HTTP/1.0\r\n\r\n'])
      assert.match(plain.text, /^HTTP\/1\.1 200/)
      assert.match(plain.text, /connection: close/i)
      assert.equal(plain.closed, true)
      const kept = await exchange(gw.port, ['GET /sized HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'], (t) => t.endsWith('\r\n\r\nok'), 1000)
      assert.match(kept.text, /connection: keep-alive/i)
      assert.equal(kept.closed, false)
      // A body without a length goes to an HTTP/1.0 client delimited by the close, never chunked.
      const streamed = await exchange(gw.port, ['GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'])
      assert.doesNotMatch(streamed.text, /transfer-encoding/i)
      assert.match(streamed.text, /\r\n\r\none,two$/)
      assert.equal(streamed.closed, true)
    })

    it('re-frames a streamed response in chunks for HTTP/1.1 and sends no body for HEAD', async () => {
      const gw = await gateway(server, await backend())
      const res = await request(`http://127.0.0.1:${gw.port}/chunked`)
      assert.equal(await res.body.text(), 'one,two')
      const head = await exchange(gw.port, ['HEAD /x HTTP/1.1\r\nHost: x\r\n\r\nGET /after-head HTTP/1.1\r\nHost: x\r\n\r\n'], (t) => t.includes('/after-head"'))
      assert.equal(count(head.text, /HTTP\/1\.1 200/g), 2)
      assert.doesNotMatch(head.text.split('HTTP/1.1 200')[1] as string, /"url":"\/x"/, 'HEAD has no body')
    })

    it('decodes chunked request bodies, answers Expect: 100-continue, and refuses a chunked body over the limit', async () => {
      const gw = await gateway(server, await backend(), { limits: { maxBodyBytes: 64 } })
      const chunked = await exchange(gw.port, ['POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', '6\r\n world\r\n0\r\n\r\n'], (t) => t.includes('}'))
      assert.match(chunked.text, /"body":"hello world"/)
      const expect = await exchange(gw.port, ['POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n', 'ping'], (t) => t.includes('}'))
      assert.match(expect.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200/)
      assert.match(expect.text, /"body":"ping"/)
      assert.doesNotMatch(expect.text, /"expect"/, 'the instance is not asked to continue again')
      const big = await exchange(gw.port, ['POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', `50\r\n${'x'.repeat(80)}\r\n`, '0\r\n\r\n'])
      assert.match(big.text, /^HTTP\/1\.1 413/)
      assert.match(big.text, /OUTGROW_PAYLOAD_TOO_LARGE/)
      assert.equal(big.closed, true)
    })

    it('requires Host on HTTP/1.1, refuses CONNECT, and ignores bytes after Connection: close', async () => {
      const b = await backend()
      const gw = await gateway(server, b)
      assert.match((await exchange(gw.port, ['GET / HTTP/1.1\r\n\r\n'])).text, /^HTTP\/1\.1 400/)
      assert.match((await exchange(gw.port, ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'])).text, /^HTTP\/1\.1 400/)
      const before = b.hits
      const closing = await exchange(gw.port, ['GET /one HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n'])
      assert.equal(count(closing.text, /HTTP\/1\.1 200/g), 1)
      assert.equal(closing.closed, true)
      assert.equal(b.hits, before + 1)
    })

    it(halfClose ? 'answers a client that half-closes after sending its request' : 'closes at once on a client that half-closes (a documented node:http gap)', async () => {
      const gw = await gateway(server, await backend())
      const started = Date.now()
      const reply = await new Promise<string>((resolve) => {
        let text = ''
        const socket = connect(gw.port, '127.0.0.1', () => { socket.end('GET /half HTTP/1.1\r\nHost: x\r\n\r\n') })
        socket.on('data', (d: Buffer) => { text += d.toString() })
        socket.on('close', () => { resolve(text) })
        setTimeout(() => { socket.destroy() }, 3000).unref()
      })
      if (halfClose) {
        assert.match(reply, /^HTTP\/1\.1 200/)
        assert.match(reply, /"url":"\/half"/)
      } else {
        // node:http ends the connection when the client's FIN comes in before the answer.
        assert.equal(reply, '')
        assert.ok(Date.now() - started < 1000, 'closed by the gateway, not left to time out')
      }
      // A body cut short by the client's FIN can never complete: 400 (or, on node:http, a close) at once, not a wait for time-outs.
      const cutAt = Date.now()
      const cut = await exchange(gw.port, ['POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc'], () => false, 3000, true)
      if (halfClose) assert.match(cut.text, /^HTTP\/1\.1 400/)
      else assert.equal(cut.closed, true)
      assert.ok(Date.now() - cutAt < 1000)
    })

    it('answers a request in progress when one pipelined behind it is malformed, then closes', async () => {
      const gw = await gateway(server, await backend())
      const started = Date.now()
      const { text, closed } = await exchange(gw.port, ['GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nBad Name: v\r\n\r\n'], () => false, 3000)
      assert.equal(count(text, /HTTP\/1\.1 200/g), 1)
      assert.match(text, /slow/)
      assert.equal(closed, true)
      assert.ok(Date.now() - started < 2000, 'closed by the gateway, not by the test')
    })

    it('passes requests and responses with more headers than the parser hands over at once', async () => {
      const gw = await gateway(server, await backend())
      let head = 'GET /many HTTP/1.1\r\nHost: x\r\n'
      for (let i = 0; i < 40; i++) head += `X-In-${i}: ${i}\r\n`
      const { text } = await exchange(gw.port, [head + '\r\n'], (t) => /\r\n\r\n\d+$/.test(t))
      assert.match(text, /\r\n\r\n40$/, 'all 40 request headers reached the instance')
      assert.equal(count(text, /x-many-\d+: /g), 40)
    })

    it('closes idle keep-alive connections after keepAliveTimeoutMs', async () => {
      const gw = await gateway(server, await backend(), { limits: { keepAliveTimeoutMs: 300 } })
      const started = Date.now()
      const { text, closed } = await exchange(gw.port, ['GET /x HTTP/1.1\r\nHost: x\r\n\r\n'], () => false, 4000)
      assert.match(text, /^HTTP\/1\.1 200/)
      assert.equal(closed, true)
      assert.ok(Date.now() - started < 3000, 'closed by the gateway, not by the test')
    })

    it('lets in-flight requests finish when it stops, and stays up when clients vanish mid-request', async () => {
      const gw = await startGateway(parseGatewayConfig({ port: 0, server, upstreams: { instances: [{ id: 'h1', url: (await backend()).url }] } }))
      await exchange(gw.port, ['GET /slow HTTP/1.1\r\nHost: x\r\n\r\n'], () => true) // the client leaves at once
      const inFlight = request(`http://127.0.0.1:${gw.port}/slow`)
      await new Promise((resolve) => setTimeout(resolve, 50))
      const closing = gw.close()
      const res = await inFlight
      assert.equal(res.statusCode, 200)
      assert.equal(await res.body.text(), 'slow')
      await closing
    })
  })

  describe(`gateway HTTP/1 server under hostile input (${server} server)`, () => {
    it('refuses request-smuggling shapes with 400 and never forwards them', async () => {
      const b = await backend()
      const gw = await gateway(server, b)
      const before = b.hits
      const smuggling = [
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde',
        'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: x\r\n folded: header\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n',
        'GET / HTTP/1.1\nHost: x\n\n',
      ]
      for (const text of smuggling) {
        const reply = await exchange(gw.port, [text], (t) => t.includes('\r\n\r\n'), 1500)
        assert.match(reply.text, /^HTTP\/1\.1 400/, JSON.stringify(text))
      }
      assert.equal(b.hits, before, 'none of them reached the instance')
    })

    it('answers 300 mutated requests with a status line or a close, and stays healthy', async () => {
      const b = await backend()
      const gw = await gateway(server, b, { limits: { maxHeaderBytes: 4096, maxBodyBytes: 4096, headersTimeoutMs: 500, requestTimeoutMs: 1000 } })
      const seeds = [
        'GET /a?b=c HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n',
        'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello',
        'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
        'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
      ]
      const next = random(20261126)
      const pick = (n: number): number => Math.floor(next() * n)
      for (let i = 0; i < 300; i++) {
        const bytes = Buffer.from(seeds[i % seeds.length] as string, 'latin1')
        const mutated = [...bytes]
        const edits = 1 + pick(4)
        for (let e = 0; e < edits; e++) {
          const at = pick(mutated.length + 1)
          const kind = pick(4)
          if (kind === 0) mutated[at] = pick(256) // flip a byte
          else if (kind === 1) mutated.splice(at, 0, ...Buffer.from([':', '\r', '\n', ' ', '\0', '9'][pick(6)] as string)) // insert
          else if (kind === 2) mutated.splice(at, 1 + pick(5)) // delete
          else mutated.length = Math.max(1, at) // truncate
        }
        // The client half-closes after its bytes, so an incomplete request ends at once instead of timing out.
        const reply = await exchange(gw.port, [Buffer.from(mutated).toString('latin1')], (t) => t.includes('\r\n\r\n'), 1500, true)
        assert.ok(reply.text === '' || /^HTTP\/1\.1 [1-5]\d\d /.test(reply.text), `case ${i}: ${JSON.stringify(Buffer.from(mutated).toString('latin1'))} → ${JSON.stringify(reply.text.slice(0, 40))}`)
      }
      const health = await request(`http://127.0.0.1:${gw.port}/__outgrow/healthz`)
      assert.equal(health.statusCode, 200)
      await health.body.dump()
      const proxied = await request(`http://127.0.0.1:${gw.port}/after-fuzz`)
      assert.equal(proxied.statusCode, 200)
      await proxied.body.dump()
    })
  })
}
