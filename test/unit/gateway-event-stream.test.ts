import assert from 'node:assert/strict'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, test } from 'node:test'
import { request } from 'undici'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'
import { startGateway } from '../../src/gateway/server.js'
import type { Upstream } from '../../src/gateway/upstream.js'
import { waitUntil } from '../helpers/wait.js'

/**
 * Server-Sent Events through the gateway: each event reaches the client when the instance sends
 * it (nothing waits for the end of the response), and an open stream is not load — the instance's
 * `active` count, which the balancers read, is back to zero while the stream goes on.
 */
const cleanups: Array<() => Promise<void>> = []
after(async () => { for (const c of cleanups.reverse()) await c() })

for (const client of ['native', 'undici'] as const) {
  test(`an event stream passes event by event and leaves the balancers' count (${client} client)`, async () => {
    let stream: ServerResponse | undefined
    const backend = createServer((req, res) => {
      if (req.url === '/readyz') { res.end('ok'); return }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.write('id: 1\nevent: hello\ndata: {}\n\n')
      stream = res
    })
    await new Promise<void>((resolve) => { backend.listen(0, '127.0.0.1', resolve) })
    cleanups.push(async () => { backend.closeAllConnections(); await new Promise((resolve) => { backend.close(resolve) }) })
    const url = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`
    const gw = await startGateway(parseGatewayConfig({ port: 0, upstreams: { instances: [{ id: 'sse', url }], healthCheck: { intervalMs: 100, timeoutMs: 500, rise: 1, fall: 3 }, client } }))
    cleanups.push(async () => { await gw.close() })

    const res = await request(`http://127.0.0.1:${gw.port}/api/events`)
    assert.equal(res.statusCode, 200)
    assert.match(String(res.headers['content-type']), /^text\/event-stream/)
    const received: string[] = []
    const reading = (async () => { for await (const chunk of res.body) received.push(String(chunk)) })()
    assert.ok(await waitUntil(async () => received.join('').includes('event: hello'), 5000, 5), 'the first event arrived while the stream is open')

    const upstream = gw.cluster.members[0] as Upstream
    assert.equal(upstream.active, 0, 'not in flight for the balancers')
    assert.equal(upstream.streams, 1)

    stream?.write('id: 2\nevent: done\ndata: {"ok":true}\n\n')
    assert.ok(await waitUntil(async () => received.join('').includes('event: done'), 5000, 5), 'a later event arrived on its own')
    stream?.end()
    await reading
    assert.equal(upstream.streams, 0, 'the ended stream is no longer counted')
    assert.equal(upstream.active, 0)
  })
}
