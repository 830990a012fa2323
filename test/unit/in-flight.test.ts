import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { parseInstanceMetrics } from '../../src/control/autoscaler/metrics-source.js'
import { createAppServer } from '../../src/runtime/app-server.js'
import type { Ports } from '../../src/runtime/ports.js'
import { MemorySessionStore } from '../../src/session/memory-store.js'

test('outgrow_http_in_flight counts requests being served, and leaves an aborted one', async () => {
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  let arrived: () => void = () => {}
  const arrival = new Promise<void>((resolve) => { arrived = resolve })
  const ports = { instanceId: 'test' } as unknown as Ports // the routes below use no port
  const server = await createAppServer({
    service: { name: 't', routes: (app) => { app.get('/slow', async () => { arrived(); await held; return { ok: true } }) } },
    ports,
    sessionStore: new MemorySessionStore(60),
    sessionTtlSeconds: 60,
  })
  await server.app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`
  const inFlight = async (): Promise<number> => parseInstanceMetrics(await (await fetch(`${base}/metrics`)).text()).inFlight
  try {
    const before = await inFlight()
    const answered = fetch(`${base}/slow`)
    await arrival
    assert.equal(await inFlight(), before + 1, 'the held request is in flight; the scrape itself is not')
    const aborted = httpRequest(`${base}/slow`)
    aborted.on('error', () => {})
    aborted.end()
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(await inFlight(), before + 2)
    aborted.destroy()
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(await inFlight(), before + 1, 'the aborted request left the count')
    release()
    assert.equal((await answered).status, 200)
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(await inFlight(), before, 'every request left exactly once')
  } finally {
    release()
    await server.app.close()
  }
})
