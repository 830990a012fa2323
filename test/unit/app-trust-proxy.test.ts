import assert from 'node:assert/strict'
import { test } from 'node:test'
import { appProcessConfig } from '../../src/control/executors/process-configs.js'
import { preset } from '../../src/control/presets.js'
import { validateSpec } from '../../src/control/validate-spec.js'

const addresses = new Map([
  ['postgres-primary', 'postgres://postgres@127.0.0.1:5001/outgrow'],
  ['postgres-replica-1', 'postgres://postgres@127.0.0.1:5002/outgrow'],
  ['postgres-1', 'postgres://postgres@127.0.0.1:5003/outgrow'],
  ['postgres-2', 'postgres://postgres@127.0.0.1:5004/outgrow'],
  ['etcd-1', 'http://127.0.0.1:2379'],
  ['etcd-2', 'http://127.0.0.1:2381'],
  ['etcd-3', 'http://127.0.0.1:2383'],
  ['redis', 'redis://127.0.0.1:7001'],
  ['redis-sentinel-1', 'redis://127.0.0.1:26001'],
  ['redis-sentinel-2', 'redis://127.0.0.1:26002'],
  ['redis-sentinel-3', 'redis://127.0.0.1:26003'],
])

test('behind a gateway, an app instance believes X-Forwarded-* from loopback (the gateway) only', () => {
  const config = appProcessConfig(validateSpec(preset(4, '/srv/shop/service.js')), 'app', 'app-1', addresses)
  assert.ok('trustProxy' in config)
  assert.deepEqual(config.trustProxy, ['loopback'])
})

test('without a gateway (levels 1–3) an app instance believes no forwarded headers', () => {
  for (const level of [1, 2, 3] as const) {
    const config = appProcessConfig(validateSpec(preset(level, '/srv/shop/service.js')), 'app', 'app-1', addresses)
    assert.ok(!('trustProxy' in config) || config.trustProxy === undefined || config.trustProxy.length === 0, `level ${level}`)
  }
})
