import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { request } from 'undici'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'
import { parseStackConfig } from '../../src/config/stack-config.js'
import { specFromConfig } from '../../src/control/presets.js'
import { validateSpec } from '../../src/control/validate-spec.js'
import { startGateway } from '../../src/gateway/server.js'
import { startBackend } from '../helpers/backends.js'
import { SERVER_KINDS } from '../helpers/gateway-servers.js'
import { thrown } from '../helpers/thrown.js'

const cleanups: Array<() => Promise<void>> = []
after(async () => { for (const c of cleanups.reverse()) await c() })

const DEFAULT_TOKEN = 'outgrow-admin-token'
const app = { service: 'service.js' }


describe('the default admin token', () => {
  it('is refused by a gateway listening beyond loopback, publicly or for its admin API', () => {
    for (const config of [{ host: '0.0.0.0' }, { host: '10.1.2.3' }, { host: '::' }, { admin: { host: '0.0.0.0' } }]) {
      const err = thrown(() => parseGatewayConfig({ ...config, adminToken: DEFAULT_TOKEN }))
      assert.equal(err.code, 'OUTGROW_CONFIG_INVALID')
      assert.equal(err.details?.field, 'adminToken', JSON.stringify(config))
      assert.match(err.message, /adminToken/)
    }
    // On loopback it is allowed; beyond loopback any other token is.
    assert.equal(parseGatewayConfig({ host: '127.0.0.1', adminToken: DEFAULT_TOKEN }).adminToken, DEFAULT_TOKEN)
    assert.equal(parseGatewayConfig({ host: '::1', adminToken: DEFAULT_TOKEN }).adminToken, DEFAULT_TOKEN)
    assert.equal(parseGatewayConfig({ host: '0.0.0.0', adminToken: 'a-real-secret' }).host, '0.0.0.0')
  })

  it('is refused by a stack config whose host is beyond loopback', () => {
    const err = thrown(() => parseStackConfig({ app, host: '0.0.0.0' }))
    assert.equal(err.code, 'OUTGROW_CONFIG_INVALID')
    assert.equal(err.details?.field, 'adminToken')
    assert.equal(parseStackConfig({ app, host: '0.0.0.0', adminToken: 'a-real-secret' }).host, '0.0.0.0')
    assert.equal(parseStackConfig({ app }).adminToken, DEFAULT_TOKEN)
  })

  it('is refused by a topology whose gateway or service listens beyond loopback', () => {
    const gatewayOut = parseStackConfig({ app, level: 4, topology: { gateways: { gateway: { host: '0.0.0.0' } } } })
    const err = thrown(() => validateSpec(specFromConfig(gatewayOut, 'service.js')))
    assert.equal(err.details?.field, 'adminToken')
    assert.match(err.message, /adminToken/)
    const serviceOut = parseStackConfig({ app, level: 2, topology: { services: { app: { listen: { host: '0.0.0.0', port: 8080 } } } } })
    assert.equal(thrown(() => validateSpec(specFromConfig(serviceOut, 'service.js'))).details?.field, 'adminToken')
    const withSecret = parseStackConfig({ app, level: 4, adminToken: 'a-real-secret', topology: { gateways: { gateway: { host: '0.0.0.0' } } } })
    assert.equal(validateSpec(specFromConfig(withSecret, 'service.js')).gateways.gateway?.host, '0.0.0.0')
  })
})

for (const server of SERVER_KINDS) {
  describe(`the gateway admin listener (${server} server)`, () => {
    it('serves the admin API on its own loopback address; the public port answers 404 there', async () => {
      assert.deepEqual(parseGatewayConfig({}).admin, { host: '127.0.0.1', port: 9901 })
      const backend = await startBackend('adm1')
      cleanups.push(async () => { await backend.close() })
      const token = 'admin-listener-token'
      const gw = await startGateway(parseGatewayConfig({ port: 0, server, adminToken: token, admin: { port: 0 }, upstreams: { instances: [{ id: 'adm1', url: backend.url }] } }))
      cleanups.push(async () => { await gw.close() })
      const auth = { authorization: `Bearer ${token}` }
      const publicAdmin = await request(`http://127.0.0.1:${gw.port}/__outgrow/admin/instances`, { headers: auth })
      assert.equal(publicAdmin.statusCode, 404)
      assert.doesNotMatch(await publicAdmin.body.text(), /adm1/)
      const publicDelete = await request(`http://127.0.0.1:${gw.port}/__outgrow/admin/instances/adm1`, { method: 'DELETE', headers: auth })
      assert.equal(publicDelete.statusCode, 404)
      await publicDelete.body.dump()
      assert.equal(gw.cluster.members.length, 1, 'the public port cannot drain an instance')

      assert.ok(gw.adminPort !== undefined && gw.adminPort !== gw.port)
      const admin = await request(`http://127.0.0.1:${gw.adminPort}/__outgrow/admin/instances`, { headers: auth })
      assert.equal(admin.statusCode, 200)
      assert.deepEqual((await admin.body.json() as { instances: Array<{ id: string }> }).instances.map((i) => i.id), ['adm1'])
      const proxied = await request(`http://127.0.0.1:${gw.adminPort}/anything`)
      assert.equal(proxied.statusCode, 404, 'the admin listener proxies nothing')
      await proxied.body.dump()
      // Health and metrics stay on the public port.
      const health = await request(`http://127.0.0.1:${gw.port}/__outgrow/healthz`)
      assert.equal(health.statusCode, 200)
      await health.body.dump()
    })

    it('does not listen when the admin API is off (no adminToken)', async () => {
      const gw = await startGateway(parseGatewayConfig({ port: 0, server, admin: { port: 0 } }))
      cleanups.push(async () => { await gw.close() })
      assert.equal(gw.adminPort, undefined)
    })
  })
}
