import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, describe, it } from 'node:test'
import { SERVER_KINDS } from '../helpers/gateway-servers.js'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'
import type { GatewayRequest } from '../../src/gateway/http/request.js'
import type { GatewayResponse } from '../../src/gateway/http/response.js'
import { createHttpServer, type GatewayHttpServer, type ServerKind } from '../../src/gateway/http/server.js'

const servers: GatewayHttpServer[] = []
after(async () => { for (const s of servers) await s.close(0) })

const REQUESTS = 100_000

/** Pipelines `count` GETs in one write and reads the answers; resolves with their bodies in arrival order. */
async function pipeline (port: number, count: number, request = (i: number): string => `GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`): Promise<string[]> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      let text = ''
      for (let i = 0; i < count; i++) text += request(i)
      socket.write(text)
    })
    const bodies: string[] = []
    let rest = ''
    socket.on('data', (d: Buffer) => {
      rest += d.toString('latin1')
      // Each answer is `HTTP/1.1 200 OK … content-length: n\r\n\r\n/<i>`: take whole ones off the front.
      for (;;) {
        const head = rest.indexOf('\r\n\r\n')
        if (head === -1) break
        const length = Number(/content-length: (\d+)/i.exec(rest.slice(0, head))?.[1])
        if (rest.length < head + 4 + length) break
        bodies.push(rest.slice(head + 4, head + 4 + length))
        rest = rest.slice(head + 4 + length)
      }
      if (bodies.length === count) { socket.destroy(); resolve(bodies) }
    })
    socket.on('error', reject)
    setTimeout(() => { socket.destroy(); reject(new Error(`only ${bodies.length} of ${count} answers`)) }, 60_000).unref()
  })
}

function serverAnswering (kind: ServerKind, maxPipelinedRequests: number, answer: (req: GatewayRequest, res: GatewayResponse) => void): GatewayHttpServer {
  const server = createHttpServer(kind, parseGatewayConfig({ limits: { maxPipelinedRequests } }).limits, {
    request: answer,
    reject: (res) => { res.end() },
    upgrade: (_req, socket) => { socket.destroy() },
    clientError: () => {},
  })
  servers.push(server)
  return server
}

for (const kind of SERVER_KINDS) {
  describe(`pipelining backpressure (${kind} server)`, () => {
    it('keeps request bodies whole when parsing pauses right after a request\'s headers', async () => {
      const server = serverAnswering(kind, 2, (req, res) => {
        const chunks: Buffer[] = []
        req.body?.on('data', (c: Buffer) => chunks.push(c))
        req.body?.on('end', () => { setTimeout(() => { res.end(`${req.url}:${Buffer.concat(chunks).toString()}`) }, 5) })
      })
      const port = await server.listen(0, '127.0.0.1')
      const bodies = await pipeline(port, 12, (i) => `POST /${i} HTTP/1.1\r\nHost: x\r\nContent-Length: ${String(i).length + 5}\r\n\r\nbody-${i}`)
      assert.deepEqual(bodies, Array.from({ length: 12 }, (_, i) => `/${i}:body-${i}`))
    })

    it(`answers ${REQUESTS} pipelined requests in order while holding at most maxPipelinedRequests queued`, async () => {
      let queuedPeak = 0
      // Answered on a later turn, as a proxied request would be, so the parser can run ahead.
      const server = serverAnswering(kind, 16, (req, res) => {
        queuedPeak = Math.max(queuedPeak, server.queuedRequests())
        setImmediate(() => { res.end(req.url) })
      })
      const port = await server.listen(0, '127.0.0.1')
      const bodies = await pipeline(port, REQUESTS)
      assert.equal(bodies.length, REQUESTS)
      const outOfOrder = bodies.findIndex((b, i) => b !== `/${i}`)
      assert.equal(outOfOrder, -1, `answer ${outOfOrder} is ${bodies[outOfOrder]}`)
      assert.ok(queuedPeak > 0, 'requests did queue behind each other')
      // node:http parses a whole read ahead before reading stops: up to 64 KiB of these requests.
      const cap = kind === 'native' ? 16 : 16 + Math.ceil(64 * 1024 / 'GET /0 HTTP/1.1\r\nHost: x\r\n\r\n'.length)
      assert.ok(queuedPeak <= cap, `at most ${cap} requests queued on the connection, saw ${queuedPeak}`)
    })
  })
}
