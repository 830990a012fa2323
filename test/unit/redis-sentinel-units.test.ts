import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseProcessConfig } from '../../src/config/process-config.js'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'
import { appProcessConfig, gatewayProcessConfig } from '../../src/control/executors/process-configs.js'
import { deepMerge, preset } from '../../src/control/presets.js'
import type { TopologySpec } from '../../src/control/spec.js'
import { expand } from '../../src/control/units.js'
import { validateSpec } from '../../src/control/validate-spec.js'
import { OutgrowError } from '../../src/errors/index.js'

const specWith = (sentinel: unknown): TopologySpec =>
  validateSpec(deepMerge(preset(4, 'examples/shop/service.js', { ha: false }), { redis: { redis: { sentinel } } }))

const redisUnits = (spec: TopologySpec): Array<[string, string, string, number, string[]]> =>
  expand(spec).filter((u) => u.kind === 'redis' || u.kind === 'redis-sentinel').map((u) => [u.name, u.kind, u.server, u.ordinal, [...u.dependsOn]])

test('sentinel: true is { enabled: true } with a replica, 3 Sentinels, quorum 2', () => {
  const sentinel = specWith(true).redis.redis?.sentinel
  assert.deepEqual(sentinel, { enabled: true, replicas: 1, sentinels: 3, quorum: 2, downAfterMs: 2000, failoverTimeoutMs: 10_000, sessionAckTimeoutMs: 500 })
  assert.equal(specWith(false).redis.redis?.sentinel.enabled, false)
  assert.deepEqual(specWith({ enabled: true, downAfterMs: 1000 }).redis.redis?.sentinel.downAfterMs, 1000)
})

test('with Sentinel: data nodes redis-1 (master at first start) and redis-2 after it, three Sentinels, each on its own server', () => {
  assert.deepEqual(redisUnits(specWith(true)), [
    ['redis-1', 'redis', 'redis-1', 1, []],
    ['redis-2', 'redis', 'redis-2', 2, ['redis-1']],
    ['redis-sentinel-1', 'redis-sentinel', 'redis-sentinel-1', 1, ['redis-1']],
    ['redis-sentinel-2', 'redis-sentinel', 'redis-sentinel-2', 2, ['redis-1']],
    ['redis-sentinel-3', 'redis-sentinel', 'redis-sentinel-3', 3, ['redis-1']],
  ])
  assert.deepEqual(redisUnits(specWith(false)), [['redis', 'redis', 'redis', 1, []]], 'without Sentinel: one server named after the spec entry')
  assert.deepEqual(redisUnits(specWith({ enabled: true, replicas: 2, sentinels: 5, quorum: 3, server: 'watch-{i}' })).map(([n, , s]) => `${n}@${s}`),
    ['redis-1@redis-1', 'redis-2@redis-2', 'redis-3@redis-3', 'redis-sentinel-1@watch-1', 'redis-sentinel-2@watch-2', 'redis-sentinel-3@watch-3', 'redis-sentinel-4@watch-4', 'redis-sentinel-5@watch-5'])
})

test('clients depend on the Sentinels, not on a data node: a dead master holds back no instance restart', () => {
  const units = expand(specWith(true))
  for (const name of ['app-1', 'worker-1', 'gateway']) {
    const deps = units.find((u) => u.name === name)?.dependsOn ?? []
    assert.ok(['redis-sentinel-1', 'redis-sentinel-2', 'redis-sentinel-3'].every((s) => deps.includes(s)), `${name}: ${deps.join(', ')}`)
    assert.ok(!deps.includes('redis-1') && !deps.includes('redis-2'), `${name}: ${deps.join(', ')}`)
  }
  // Turning failover on changes how every client connects: they are replaced.
  const before = expand(specWith(false)).find((u) => u.name === 'app-1')?.fingerprint
  assert.notEqual(units.find((u) => u.name === 'app-1')?.fingerprint, before)
})

test('a quorum above the Sentinels and Sentinel without persistence are refused, naming the field', () => {
  assert.throws(() => specWith({ enabled: true, sentinels: 3, quorum: 4 }), (err: unknown) => err instanceof OutgrowError && err.details?.field === 'redis.redis.sentinel.quorum')
  assert.throws(() => validateSpec(deepMerge(preset(4, 'examples/shop/service.js'), { redis: { redis: { sentinel: true, persistence: 'none' } } })),
    (err: unknown) => err instanceof OutgrowError && err.details?.field === 'redis.redis.persistence')
})

const addresses = new Map([
  ['postgres-primary', 'postgres://127.0.0.1:5001/outgrow'], ['postgres-replica-1', 'postgres://127.0.0.1:5002/outgrow'],
  ['redis', 'redis://127.0.0.1:6000'], ['redis-1', 'redis://127.0.0.1:6001'], ['redis-2', 'redis://127.0.0.1:6002'],
  ['redis-sentinel-1', 'redis://127.0.0.1:26001'], ['redis-sentinel-2', 'redis://127.0.0.1:26002'], ['redis-sentinel-3', 'redis://127.0.0.1:26003'],
])
const sentinels = [{ host: '127.0.0.1', port: 26001 }, { host: '127.0.0.1', port: 26002 }, { host: '127.0.0.1', port: 26003 }]

test('process configs: every Redis client is given the Sentinels and the master name; session writes wait for one replica', () => {
  const app = parseProcessConfig(appProcessConfig(specWith(true), 'app', 'app-1', addresses))
  assert.equal(app.role, 'app')
  if (app.role !== 'app') return
  assert.deepEqual(app.cache, { kind: 'redis', sentinels, name: 'redis', prefix: 'cache:' })
  assert.deepEqual(app.session, { kind: 'redis', sentinels, name: 'redis', ttlSeconds: 86_400, replicaAcks: { replicas: 1, timeoutMs: 500 } })
  assert.deepEqual(app.jobs, { kind: 'bullmq', sentinels, name: 'redis', queue: 'outgrow-jobs', concurrency: 4 })
  assert.deepEqual(app.registry, { sentinels, name: 'redis', cluster: 'app' })
  const worker = parseProcessConfig(appProcessConfig(specWith(true), 'app', 'worker-1', addresses, 'worker'))
  assert.deepEqual(worker.role === 'worker' ? worker.jobs : undefined, { kind: 'bullmq', sentinels, name: 'redis', queue: 'outgrow-jobs', concurrency: 4 })
  const gateway = parseProcessConfig(gatewayProcessConfig(specWith(true), 'gateway', addresses, '/static'))
  assert.equal(gateway.role, 'gateway')
  if (gateway.role !== 'gateway') return
  assert.deepEqual(gateway.gateway.upstreams.registry, { kind: 'redis', sentinels, name: 'redis', cluster: 'app' })
  assert.deepEqual(gateway.gateway.rateLimitStore, { kind: 'redis', sentinels, name: 'redis', onError: 'open' })
})

test('process configs without Sentinel: URLs, and session writes wait for nobody', () => {
  const app = parseProcessConfig(appProcessConfig(specWith(false), 'app', 'app-1', addresses))
  if (app.role !== 'app') throw new Error('not an app')
  assert.deepEqual(app.cache, { kind: 'redis', url: 'redis://127.0.0.1:6000', prefix: 'cache:' })
  assert.deepEqual(app.session, { kind: 'redis', url: 'redis://127.0.0.1:6000', ttlSeconds: 86_400 })
})

test('a Redis target is a url, or sentinels with the master name: anything else is refused naming the field', () => {
  const base = { role: 'app', instanceId: 'a', port: 0, service: 's', adminToken: 'a-long-token', db: { primary: 'postgres://x' }, session: { kind: 'memory' }, jobs: { kind: 'inprocess' } }
  const field = (cache: unknown): unknown => {
    try {
      parseProcessConfig({ ...base, cache })
      return undefined
    } catch (err) {
      return (err as OutgrowError).details?.field
    }
  }
  assert.equal(field({ kind: 'redis', url: 'redis://x' }), undefined)
  assert.equal(field({ kind: 'redis', sentinels, name: 'redis' }), undefined)
  assert.equal(field({ kind: 'redis' }), 'cache.url')
  assert.equal(field({ kind: 'redis', sentinels }), 'cache.name')
  assert.equal(field({ kind: 'redis', url: 'redis://x', name: 'redis' }), 'cache.sentinels')
  assert.throws(() => parseGatewayConfig({ upstreams: { registry: { kind: 'redis' } } }), (err: unknown) => err instanceof OutgrowError && err.details?.field === 'upstreams.registry.url')
})
