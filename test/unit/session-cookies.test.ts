import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import pino from 'pino'
import { createAppServer, type AppServer } from '../../src/runtime/app-server.js'
import type { Ports } from '../../src/runtime/ports.js'
import { defineService } from '../../src/runtime/service.js'
import type { SecureCookieSetting } from '../../src/session/cookie-security.js'
import { MemorySessionStore } from '../../src/session/memory-store.js'
import { RequestSession } from '../../src/session/request-session.js'

const service = defineService({
  name: 'session-cookies',
  routes (app) {
    app.post('/touch', async (request) => { await request.session.increment('visits', 1); return { id: request.session.id } })
  },
})
const ports = { instanceId: 'cookies-1', adminToken: 'x'.repeat(8), log: pino({ level: 'silent' }) } as unknown as Ports

async function server (store: MemorySessionStore, options: { secure?: SecureCookieSetting, listenHost?: string, trustProxy?: string[] } = {}): Promise<AppServer> {
  return await createAppServer({
    service, ports, sessionStore: store, sessionTtlSeconds: 60,
    ...(options.secure === undefined ? {} : { sessionCookieSecure: options.secure }),
    ...(options.listenHost === undefined ? {} : { listenHost: options.listenHost }),
    ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
  })
}

function sessionCookie (setCookie: string | string[] | undefined): string {
  const all = Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie]
  const found = all.find((c) => c.startsWith('outgrow.sid='))
  assert.ok(found !== undefined, 'a session cookie was set')
  return found
}

describe('session ids', () => {
  it('a client-chosen id the server never issued is replaced by a fresh one (no fixation)', async () => {
    const store = new MemorySessionStore(60)
    const { app } = await server(store)
    const chosen = 'A'.repeat(32)
    const response = await app.inject({ method: 'POST', url: '/touch', headers: { cookie: `outgrow.sid=${chosen}` } })
    const issued = response.json<{ id: string }>().id
    assert.notEqual(issued, chosen)
    assert.match(sessionCookie(response.headers['set-cookie']), new RegExp(`^outgrow\\.sid=${issued};`))
    assert.deepEqual(await store.getAll(chosen), {})
    assert.deepEqual(await store.getAll(issued), { visits: '1' })
    await app.close()
    await store.close()
  })

  it('an id the server issued keeps being used', async () => {
    const store = new MemorySessionStore(60)
    const { app } = await server(store)
    const first = await app.inject({ method: 'POST', url: '/touch' })
    const id = first.json<{ id: string }>().id
    const second = await app.inject({ method: 'POST', url: '/touch', headers: { cookie: `outgrow.sid=${id}` } })
    assert.equal(second.json<{ id: string }>().id, id)
    assert.equal(second.headers['set-cookie'], undefined)
    assert.deepEqual(await store.getAll(id), { visits: '2' })
    await app.close()
    await store.close()
  })

  for (const end of ['regenerate', 'destroy'] as const) {
    it(`a request in flight with the old id does not re-create it after ${end}()`, async () => {
      const store = new MemorySessionStore(60)
      await store.setField('old-session-id', 'cart:1', '1', { create: true })
      const issued: Array<string | undefined> = []
      const login = new RequestSession(store, 'old-session-id', () => {})
      const inFlight = new RequestSession(store, 'old-session-id', (id) => { issued.push(id) })
      await login[end]()
      await inFlight.increment('cart:2', 1)
      assert.deepEqual(await store.getAll('old-session-id'), {})
      assert.notEqual(inFlight.id, 'old-session-id')
      assert.deepEqual(issued, [inFlight.id])
      assert.deepEqual(await store.getAll(inFlight.id as string), { 'cart:2': '1' })
      await store.close()
    })
  }
})

describe('Secure session cookies', () => {
  const cases: Array<{ name: string, options: Parameters<typeof server>[1], headers?: Record<string, string>, secure: boolean }> = [
    { name: 'auto on loopback over plain HTTP: off', options: {}, secure: false },
    { name: 'auto on a non-loopback listen host: on', options: { listenHost: '0.0.0.0' }, secure: true },
    { name: 'auto behind a trusted gateway that says https: on', options: { trustProxy: ['loopback'] }, headers: { 'x-forwarded-proto': 'https' }, secure: true },
    { name: 'auto with X-Forwarded-Proto from an untrusted peer: off', options: {}, headers: { 'x-forwarded-proto': 'https' }, secure: false },
    { name: 'auto behind a trusted gateway that says http: off', options: { trustProxy: ['loopback'] }, headers: { 'x-forwarded-proto': 'http' }, secure: false },
    { name: 'true on loopback: on', options: { secure: true }, secure: true },
    { name: 'false off loopback: off', options: { secure: false, listenHost: '0.0.0.0' }, secure: false },
  ]
  for (const c of cases) {
    it(c.name, async () => {
      const store = new MemorySessionStore(60)
      const { app } = await server(store, c.options)
      const response = await app.inject({ method: 'POST', url: '/touch', headers: c.headers ?? {} })
      const cookie = sessionCookie(response.headers['set-cookie'])
      assert.equal(/;\s*Secure/i.test(cookie), c.secure, cookie)
      assert.match(cookie, /HttpOnly/)
      await app.close()
      await store.close()
    })
  }
})
