import assert from 'node:assert/strict'
import { test } from 'node:test'
import { appProcessConfig } from '../../src/control/executors/process-configs.js'
import { preset } from '../../src/control/presets.js'
import { validateSpec } from '../../src/control/validate-spec.js'

const cacheOf = (config: ReturnType<typeof appProcessConfig>): unknown => 'cache' in config ? config.cache : undefined
const addresses = new Map([
  ['postgres-primary', 'postgres://postgres@127.0.0.1:5001/outgrow'],
  ['redis', 'redis://127.0.0.1:7001'],
])

test('levels 1 and 2 run without a cache, as the playbook draws them (the cache arrives at level 3)', () => {
  for (const level of [1, 2] as const) {
    const config = appProcessConfig(validateSpec(preset(level, '/srv/shop/service.js')), 'app', 'app-1', addresses)
    assert.deepEqual(cacheOf(config), { kind: 'none' }, `level ${level}`)
  }
  const three = appProcessConfig(validateSpec(preset(3, '/srv/shop/service.js')), 'app', 'app-1', addresses)
  assert.equal((cacheOf(three) as { kind: string }).kind, 'redis')
})

test('a service without a Redis cache keeps an in-process one unless it says localCache: none', () => {
  const spec = preset(2, '/srv/shop/service.js')
  const withMemory = { ...spec, services: { app: { ...spec.services.app, localCache: 'memory' as const } } }
  assert.deepEqual(cacheOf(appProcessConfig(validateSpec(withMemory), 'app', 'app-1', addresses)), { kind: 'memory' })
  assert.throws(() => validateSpec({ ...spec, services: { app: { ...spec.services.app, localCache: 'lru' } } }), /localCache/)
})
