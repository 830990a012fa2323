import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, it } from 'node:test'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'
import { startGateway } from '../../src/gateway/server.js'
import { freePort } from '../../src/supervisor/free-port.js'

const cleanups: Array<() => Promise<void>> = []
after(async () => { for (const c of cleanups.reverse()) await c() })

/** A service with no /readyz: 404 until told otherwise, or no answer at all when hanging. */
async function service (): Promise<{ url: string, status: number, hang: boolean, server: Server }> {
  const state = { status: 404, hang: false }
  const server = createServer((_req, res) => {
    if (state.hang) return
    res.statusCode = state.status
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) })
  return Object.assign(state, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })
}

async function until (lines: string[], pattern: RegExp, timeoutMs = 3000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const line = lines.find((l) => pattern.test(l))
    if (line !== undefined) return line
    if (Date.now() > deadline) assert.fail(`no line matching ${String(pattern)} in:\n${lines.join('\n')}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('health transitions', () => {
  it('logs each transition of an instance with its reason, one line each', async () => {
    const s = await service()
    const closed = `http://127.0.0.1:${await freePort()}`
    const lines: string[] = []
    const gw = await startGateway(parseGatewayConfig({
      port: 0,
      upstreams: { instances: [{ id: 'no-readyz', url: s.url }, { id: 'gone', url: closed }], healthCheck: { intervalMs: 50, timeoutMs: 100, rise: 1, fall: 2 } },
    }), { log: (line) => { lines.push(line) } })
    cleanups.push(async () => { await gw.close() })

    const notFound = await until(lines, /no-readyz.*unhealthy/)
    assert.match(notFound, /GET \/readyz answered 404/)
    assert.match(notFound, /upstreams\.healthCheck\.path/, 'a 404 points at the setting')
    assert.match(await until(lines, /gone.*unhealthy/), /connection refused/)
    s.status = 200
    assert.match(await until(lines, /no-readyz.*is healthy/), /answered 200/)
    s.hang = true
    assert.match(await until(lines, /no-readyz.*unhealthy.*timed out/), /after 100 ms/)
    assert.ok(lines.every((l) => !l.includes('\n')), 'one line each')
    assert.equal(lines.filter((l) => /gone/.test(l)).length, 1, 'a transition is logged once, not every check')
  })
})
