import assert from 'node:assert/strict'
import { test } from 'node:test'
import pino from 'pino'
import { request } from 'undici'
import { createAppServer } from '../../src/runtime/app-server.js'
import type { Ports } from '../../src/runtime/ports.js'
import { defineService } from '../../src/runtime/service.js'
import { MemorySessionStore } from '../../src/session/memory-store.js'
import { waitFor } from '../helpers/cli.js'

test('inFlight() counts requests until answered or abandoned by the client', async () => {
  const held: Array<() => void> = []
  const service = defineService({
    name: 'in-flight',
    routes (app) {
      app.get('/held', async () => { await new Promise<void>((resolve) => held.push(resolve)); return { ok: true } })
    },
  })
  const ports = { instanceId: 'in-flight-1', adminToken: 'x'.repeat(8), log: pino({ level: 'silent' }) } as unknown as Ports
  const server = await createAppServer({ service, ports, sessionStore: new MemorySessionStore(60), sessionTtlSeconds: 60 })
  const base = await server.app.listen({ host: '127.0.0.1', port: 0 })
  try {
    assert.equal(server.inFlight(), 0)
    const answered = request(`${base}/held`)
    const abandon = new AbortController()
    const abandoned = request(`${base}/held`, { signal: abandon.signal }).catch(() => 'aborted')
    assert.ok(await waitFor(() => held.length === 2, 2000))
    assert.equal(server.inFlight(), 2)

    abandon.abort()
    assert.equal(await abandoned, 'aborted')
    assert.ok(await waitFor(() => server.inFlight() === 1, 2000), 'an abandoned request no longer counts')

    for (const release of held) release() // the abandoned handler finishes too, into a closed socket
    const res = await answered
    await res.body.dump()
    assert.ok(await waitFor(() => server.inFlight() === 0, 2000), 'an answered request no longer counts')
    const health = await request(`${base}/healthz`)
    await health.body.dump()
    assert.equal(server.inFlight(), 0, 'each request counted once, however it ended')
  } finally {
    for (const release of held) release()
    await server.app.close()
  }
})
