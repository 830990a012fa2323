import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseProcessConfig, type AppProcessConfig, type GatewayProcessConfig } from '../../src/config/process-config.js'
import { appProcessConfig, gatewayProcessConfig, staticStoreDir } from '../../src/control/executors/process-configs.js'
import { deepMerge, preset } from '../../src/control/presets.js'
import { validateSpec } from '../../src/control/validate-spec.js'
import { withViewBeacon } from '../../examples/shop/prerender.js'

const addresses = new Map([
  ['postgres-primary', 'postgres://postgres@127.0.0.1:5001/outgrow'],
  ['postgres-replica-1', 'postgres://postgres@127.0.0.1:5002/outgrow'],
  ['redis', 'redis://127.0.0.1:7001'],
])

test('level 4 pre-renders: its instances and workers write where its gateway serves from', () => {
  const spec = validateSpec(preset(4, '/srv/shop/service.js', { ha: false }))
  const dir = staticStoreDir(spec, '/srv/stack/.outgrow')
  assert.equal(dir, '/srv/stack/.outgrow/static')
  const gateway = parseProcessConfig(gatewayProcessConfig(spec, 'gateway', addresses, dir)) as GatewayProcessConfig
  assert.equal(gateway.gateway.static?.dir, dir)
  for (const worker of [undefined, 'worker']) {
    const config = parseProcessConfig(appProcessConfig(spec, 'app', 'p-1', addresses, worker, dir)) as AppProcessConfig
    assert.deepEqual(config.staticStore, { kind: 'directory', dir }, worker ?? 'app')
  }
  const elsewhere = validateSpec(deepMerge(preset(4, '/srv/shop/service.js', { ha: false }), { staticStore: { dir: '/srv/pages' } }))
  assert.equal(staticStoreDir(elsewhere, '/srv/stack/.outgrow'), '/srv/pages')
})

test('levels 1–3 have no gateway and no pre-rendering; asking for it there is refused naming the field', () => {
  for (const level of [1, 2, 3] as const) {
    const spec = validateSpec(preset(level, '/srv/shop/service.js'))
    const config = parseProcessConfig(appProcessConfig(spec, 'app', 'app-1', addresses, undefined, '/srv/static')) as AppProcessConfig
    assert.equal(config.staticStore, undefined, `level ${level}`)
    assert.throws(() => validateSpec(deepMerge(preset(level, '/srv/shop/service.js'), { services: { app: { prerender: { enabled: true } } } })),
      (err: { code?: string, message?: string }) => err.code === 'OUTGROW_TOPOLOGY_REFUSED' && String(err.message).includes('services.app.prerender.enabled'))
  }
})

test('a static store that is not an absolute directory is refused naming the field', () => {
  assert.throws(() => validateSpec(deepMerge(preset(4, '/srv/shop/service.js', { ha: false }), { staticStore: { dir: 'pages' } })),
    (err: { code?: string, message?: string }) => err.code === 'OUTGROW_CONFIG_INVALID' && String(err.message).includes('staticStore.dir'))
  const spec = validateSpec(preset(4, '/srv/shop/service.js', { ha: false }))
  const config = appProcessConfig(spec, 'app', 'app-1', addresses, undefined, 'relative/static')
  assert.throws(() => parseProcessConfig(config), (err: { message?: string }) => String(err.message).includes('staticStore.dir'))
  assert.throws(() => parseProcessConfig({ ...config, staticStore: { kind: 's3', dir: '/x' } }), (err: { message?: string }) => String(err.message).includes('staticStore'))
})

test('a pre-rendered page carries a view beacon before </body>', () => {
  assert.equal(withViewBeacon('<html><body><p>x</p></body></html>', 42), "<html><body><p>x</p><script>navigator.sendBeacon('/api/products/42/views')</script></body></html>")
  assert.equal(withViewBeacon('<p>x</p>', 7), "<p>x</p><script>navigator.sendBeacon('/api/products/7/views')</script>")
})
