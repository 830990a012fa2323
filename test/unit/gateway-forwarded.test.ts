import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { request } from 'undici'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'
import { OutgrowError } from '../../src/errors/index.js'
import { startGateway } from '../../src/gateway/server.js'
import { TrustedProxies } from '../../src/gateway/trusted-proxies.js'
import { startBackend } from '../helpers/backends.js'
import { SERVER_KINDS } from '../helpers/gateway-servers.js'

const cleanups: Array<() => Promise<void>> = []
after(async () => { for (const c of cleanups.reverse()) await c() })

for (const server of SERVER_KINDS) {
  describe(`X-Forwarded-For behind trusted proxies (${server} server)`, () => {
    const trusted = TrustedProxies.from(['10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1'])

    it('matches single addresses and CIDR ranges, IPv4 and IPv6, and IPv4-mapped peers', () => {
      assert.equal(trusted.has('10.200.3.4'), true)
      assert.equal(trusted.has('11.0.0.1'), false)
      assert.equal(trusted.has('192.168.1.7'), true)
      assert.equal(trusted.has('192.168.1.8'), false)
      assert.equal(trusted.has('fd12:3456::1'), true)
      assert.equal(trusted.has('fe80::1'), false)
      assert.equal(trusted.has('::1'), true)
      assert.equal(trusted.has('::ffff:10.1.1.1'), true, 'an IPv4 peer on a dual-stack socket')
      assert.equal(trusted.has('not-an-ip'), false)
    })

    it('walks from the right past trusted proxies: the first untrusted address is the client', () => {
      // The leftmost entries are whatever the client wrote; only what trusted hops appended counts.
      assert.equal(trusted.clientAddress('10.0.0.2', '6.6.6.6, 203.0.113.9, 10.1.2.3'), '203.0.113.9')
      assert.equal(trusted.clientAddress('10.0.0.2', '6.6.6.6, 2001:db8::5, fd00::7'), '2001:db8::5')
      assert.equal(trusted.clientAddress('10.0.0.2', '203.0.113.9'), '203.0.113.9')
      assert.equal(trusted.clientAddress('10.0.0.2', ''), '10.0.0.2', 'no header: the peer')
      assert.equal(trusted.clientAddress('10.0.0.2', '10.9.9.9, 10.8.8.8'), '10.9.9.9', 'all trusted: the furthest')
      assert.equal(trusted.clientAddress('10.0.0.2', '1.2.3.4, garbage, 10.3.3.3'), '10.3.3.3', 'a malformed entry ends the walk')
      assert.equal(trusted.clientAddress('8.8.8.8', '1.2.3.4'), '8.8.8.8', 'an untrusted peer is the client, whatever it claims')
    })

    it('refuses entries that are neither an address nor a CIDR range', () => {
      for (const entry of ['10.0.0.0/33', 'fd00::/129', 'example.com', '10.0.0/8']) {
        assert.throws(() => parseGatewayConfig({ trustForwardedFrom: [entry] }), (err: unknown) => err instanceof OutgrowError && err.details?.field === 'trustForwardedFrom.0', entry)
      }
    })

    it('sets X-Real-IP to the first untrusted address from the right', async () => {
      const backend = await startBackend('xff1')
      cleanups.push(async () => { await backend.close() })
      const gw = await startGateway(parseGatewayConfig({ port: 0, server, trustForwardedFrom: ['127.0.0.0/8', '10.0.0.0/8'], upstreams: { instances: [{ id: 'xff1', url: backend.url }] } }))
      cleanups.push(async () => { await gw.close() })
      const res = await request(`http://127.0.0.1:${gw.port}/`, { headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.9, 10.1.2.3' } })
      const echoed = await res.body.json() as { headers: Record<string, string> }
      assert.equal(echoed.headers['x-real-ip'], '203.0.113.9', 'a client cannot choose its address by writing the leftmost entry')
      assert.equal(echoed.headers['x-forwarded-for'], '6.6.6.6, 203.0.113.9, 10.1.2.3, 127.0.0.1')
    })
  })
}
