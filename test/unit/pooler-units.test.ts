import assert from 'node:assert/strict'
import { test } from 'node:test'
import { poolerClientLimit } from '../../src/control/demand.js'
import { appProcessConfig } from '../../src/control/executors/process-configs.js'
import { deepMerge, preset } from '../../src/control/presets.js'
import type { TopologySpec } from '../../src/control/spec.js'
import { expand, pooledServer, poolerSettings, type DesiredUnit } from '../../src/control/units.js'
import { validateSpec } from '../../src/control/validate-spec.js'

const PGBOUNCER = { kind: 'pgbouncer', poolSize: 20 }

/** Level 4 (instances, a replica, a worker) with room for 20 instances and the given pooler. */
function pooledSpec (override: unknown = {}, pooler: unknown = PGBOUNCER): TopologySpec {
  const base = deepMerge(preset(4, '/srv/shop/service.js', { ha: false }), {
    databases: { postgres: { maxConnections: 50 } },
    services: { app: { instances: { count: 3, max: 20 } } },
  }) as { databases: { postgres: Record<string, unknown> } }
  base.databases.postgres.pooler = pooler
  return validateSpec(deepMerge(base, override))
}

const byName = (units: readonly DesiredUnit[], name: string): DesiredUnit => {
  const unit = units.find((u) => u.name === name)
  assert.ok(unit !== undefined, `no unit ${name} in ${units.map((u) => u.name).join(', ')}`)
  return unit
}

test('a pgbouncer pooler is a unit in front of the primary and one in front of each replica', () => {
  const units = expand(pooledSpec())
  const pooler = byName(units, 'postgres-pooler')
  assert.equal(pooler.kind, 'pgbouncer')
  assert.equal(pooler.group, 'databases/postgres/pooler')
  assert.deepEqual(pooler.dependsOn, ['postgres-primary'])
  assert.equal(pooler.server, 'db-primary')
  assert.equal(pooledServer(pooler), 'postgres-primary')
  const replicaPooler = byName(units, 'postgres-replica-1-pooler')
  assert.equal(replicaPooler.kind, 'pgbouncer')
  assert.deepEqual(replicaPooler.dependsOn, ['postgres-replica-1'])
  assert.equal(replicaPooler.server, 'db-replica-1')
  // Poolers start after the servers they pool and before anything that connects through them.
  const order = units.map((u) => u.name)
  assert.ok(order.indexOf('postgres-pooler') > order.indexOf('postgres-primary'))
  assert.ok(order.indexOf('postgres-pooler') < order.indexOf('app-1'))
})

test('instances and workers depend on the poolers, not on the PostgreSQL servers', () => {
  const units = expand(pooledSpec())
  for (const name of ['app-1', 'app-3', 'worker-1']) {
    assert.deepEqual(byName(units, name).dependsOn, ['postgres-pooler', 'postgres-replica-1-pooler', 'redis'])
  }
  const unpooled = expand(pooledSpec({ databases: { postgres: { maxConnections: 300 } } }, { kind: 'none' }))
  assert.equal(unpooled.some((u) => u.kind === 'pgbouncer'), false)
  assert.deepEqual(byName(unpooled, 'app-1').dependsOn, ['postgres-primary', 'postgres-replica-1', 'redis'])
})

test('app and worker process configs connect through the poolers', () => {
  const spec = pooledSpec()
  const addresses = new Map([
    ['postgres-primary', 'postgres://postgres@127.0.0.1:5001/outgrow'],
    ['postgres-replica-1', 'postgres://postgres@127.0.0.1:5002/outgrow'],
    ['postgres-pooler', 'postgres://postgres@127.0.0.1:6001/outgrow'],
    ['postgres-replica-1-pooler', 'postgres://postgres@127.0.0.1:6002/outgrow'],
    ['redis', 'redis://127.0.0.1:7001'],
  ])
  for (const config of [appProcessConfig(spec, 'app', 'app-1', addresses), appProcessConfig(spec, 'app', 'worker-1', addresses, 'worker')]) {
    assert.ok('db' in config)
    assert.equal(config.db.primary, 'postgres://postgres@127.0.0.1:6001/outgrow')
    assert.deepEqual(config.db.replicas, ['postgres://postgres@127.0.0.1:6002/outgrow'])
  }
})

test('max_client_conn covers the largest size the spec allows; scaling within it keeps the pooler', () => {
  const spec = pooledSpec()
  // 20 instances × 10 + 1 worker × 10 = 210 client connections at most.
  assert.deepEqual(poolerSettings(spec, 'postgres'), { poolSize: 20, maxClientConnections: 1000 })
  assert.equal(poolerClientLimit(210), 1000)
  assert.equal(poolerClientLimit(501), 2000)
  const pooler = byName(expand(spec), 'postgres-pooler')
  const scaled = byName(expand(pooledSpec({ services: { app: { instances: { count: 7 } } } })), 'postgres-pooler')
  assert.equal(scaled.fingerprint, pooler.fingerprint)
  const resized = byName(expand(pooledSpec({}, { kind: 'pgbouncer', poolSize: 30 })), 'postgres-pooler')
  assert.notEqual(resized.fingerprint, pooler.fingerprint)
})

test('without the pooler the same spec is refused: 210 connections exceed maxConnections 50', () => {
  assert.throws(() => pooledSpec({}, { kind: 'none' }), /maxConnections 50/)
})
