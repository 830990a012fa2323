import assert from 'node:assert/strict'
import type { ServerResponse } from 'node:http'
import { after, describe, it } from 'node:test'
import { runFixedRate } from '../../bench/fixed-rate.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { startBackend, type Backend } from '../helpers/backends.js'

const backends: Backend[] = []
after(async () => { await Promise.all(backends.map(async (b) => { await b.close() })) })

/** A backend whose every request (counted in `hits`) is answered by `handler`. */
async function serve (handler: (res: ServerResponse, hits: number) => void): Promise<Backend> {
  const backend = await startBackend('fixed-rate', (_req, res) => { handler(res, backend.hits); return true })
  backends.push(backend)
  return backend
}

describe('bench fixed-rate generator', () => {
  it('sends exactly rate × time requests and records only the measured part', async () => {
    const backend = await serve((res) => { res.end('ok') })
    const [result] = await runFixedRate({ streams: [{ url: backend.url, rate: 400, connections: 8 }], durationSeconds: 1, warmupSeconds: 0.5 })
    assert.ok(result !== undefined)
    assert.equal(result.sent, 600)
    assert.equal(backend.hits, 600)
    assert.equal(result.ok, 600)
    assert.equal(result.errors, 0)
    assert.equal(result.latencyUs.count, 400)
    assert.ok(result.latencyUs.p50 > 0 && result.latencyUs.p50 <= result.latencyUs.p99)
  })

  it('counts a stall from each request\'s intended send time (no coordinated omission)', async () => {
    const held: ServerResponse[] = []
    const backend = await serve((res, received) => {
      // Requests 100 and 101 take both connections and are held 300 ms: the ~60 requests due
      // meanwhile wait in the generator, and their wait is latency the server caused.
      if (received === 100) setTimeout(() => { for (const r of held.splice(0)) r.end('late') }, 300)
      if (received === 100 || received === 101) held.push(res)
      else res.end('ok')
    })
    const [result] = await runFixedRate({ streams: [{ url: backend.url, rate: 200, connections: 2 }], durationSeconds: 1, warmupSeconds: 0 })
    assert.ok(result !== undefined)
    assert.equal(result.sent, 200)
    assert.equal(result.ok, 200)
    assert.ok(result.latencyUs.max >= 250_000, `max ${result.latencyUs.max} µs shows the 300 ms stall`)
    // Timed from the actual send, only the 2 held requests would be slow and p90 would be small.
    assert.ok(result.latencyUs.p90 >= 100_000, `p90 ${result.latencyUs.p90} µs counts the queued requests' wait`)
    assert.ok(result.latencyUs.p50 < 100_000)
  })

  it('reads chunked and close-delimited responses, reconnecting after Connection: close', async () => {
    const chunked = await serve((res) => { res.write('a'.repeat(100)); res.write('b'.repeat(5000)); res.end() })
    const closing = await serve((res) => { res.setHeader('connection', 'close'); res.end('bye') })
    const results = await runFixedRate({
      streams: [{ url: chunked.url, rate: 100, connections: 4 }, { url: closing.url, rate: 100, connections: 4 }],
      durationSeconds: 1, warmupSeconds: 0,
    })
    for (const r of results) {
      assert.equal(r.sent, 100)
      assert.equal(r.ok, 100, r.url)
      assert.equal(r.errors, 0, r.url)
    }
  })

  it('counts answers by status and failures by kind', async () => {
    const failing = await serve((res) => { res.statusCode = 503; res.end() })
    const refused = `http://127.0.0.1:${await freePort()}/`
    const [answered, unreachable] = await runFixedRate({
      streams: [{ url: failing.url, rate: 50, connections: 2 }, { url: refused, rate: 50, connections: 2 }],
      durationSeconds: 0.4, warmupSeconds: 0, timeoutSeconds: 1,
    })
    assert.equal(answered?.non2xx, 20)
    assert.equal(answered?.ok, 0)
    assert.equal(unreachable?.ok, 0)
    assert.equal(unreachable?.errors, 20, 'every request due for a closed port is an error')
  })

  it('refuses bad arguments with a message', async () => {
    await assert.rejects(runFixedRate({ streams: [{ url: 'http://localhost:1/', rate: 10, connections: 1 }], durationSeconds: 1, warmupSeconds: 0 }), /IPv4 address/)
    await assert.rejects(runFixedRate({ streams: [{ url: 'http://127.0.0.1:1/', rate: 0, connections: 1 }], durationSeconds: 1, warmupSeconds: 0 }), /RATE/)
  })
})
