import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseStackConfig } from '../../src/config/stack-config.js'
import { appProcessConfig } from '../../src/control/executors/process-configs.js'
import { haConfigInput } from '../../src/control/ha-nodes.js'
import { deepMerge, preset, specFromConfig } from '../../src/control/presets.js'
import type { TopologySpec } from '../../src/control/spec.js'
import { expand } from '../../src/control/units.js'
import { validateSpec } from '../../src/control/validate-spec.js'
import { haConfig } from '../../src/ha/config.js'

const MODULE = '/srv/shop/service.js'
const level4 = (override: unknown = {}): TopologySpec => validateSpec(deepMerge(preset(4, MODULE), override))
const fromConfig = (config: Record<string, unknown>): TopologySpec => validateSpec(specFromConfig(parseStackConfig({ app: { service: 'service.js' }, level: 4, ...config }), MODULE))

test('level 4 runs HA by default: 3 etcd members, PostgreSQL in synchronous mode as nodes postgres-1 and postgres-2', () => {
  const spec = level4()
  assert.equal(spec.consensus?.members, 3)
  assert.equal(spec.databases.postgres?.ha.enabled, true)
  assert.equal(spec.databases.postgres?.replication, 'sync')
  const nodes = expand(spec).filter((u) => u.kind === 'postgres-ha')
  assert.deepEqual(nodes.map((u) => [u.name, u.group, u.ordinal, u.server, u.dependsOn]), [
    ['postgres-1', 'databases/postgres/nodes', 1, 'db-primary', ['etcd-1', 'etcd-2', 'etcd-3']],
    ['postgres-2', 'databases/postgres/nodes', 2, 'db-replica-1', ['etcd-1', 'etcd-2', 'etcd-3']],
  ])
  assert.ok(!expand(spec).some((u) => u.kind === 'postgres-primary' || u.kind === 'postgres-replica'))
})

test('--no-ha (ha: false): a fixed primary and its replica, no etcd', () => {
  const spec = fromConfig({ ha: false })
  assert.equal(spec.consensus, undefined)
  assert.equal(spec.databases.postgres?.ha.enabled, false)
  assert.equal(spec.databases.postgres?.replication, 'async')
  assert.deepEqual(expand(spec).filter((u) => u.kind.startsWith('postgres')).map((u) => u.name), ['postgres-primary', 'postgres-replica-1'])
  assert.ok(!expand(spec).some((u) => u.kind === 'etcd'))
})

test('replicas shorthand: 2 replicas make 3 nodes; 0 replicas one node in asynchronous mode', () => {
  assert.deepEqual(expand(fromConfig({ replicas: 2 })).filter((u) => u.kind === 'postgres-ha').map((u) => u.name), ['postgres-1', 'postgres-2', 'postgres-3'])
  const single = fromConfig({ replicas: 0 })
  assert.equal(single.databases.postgres?.replication, 'async')
  assert.deepEqual(expand(single).filter((u) => u.kind === 'postgres-ha').map((u) => u.name), ['postgres-1'])
})

test('instances and workers depend on every node; scaling the app reshapes no node', () => {
  const units = expand(level4())
  for (const u of units.filter((x) => x.kind === 'app' || x.kind === 'worker')) {
    assert.ok(u.dependsOn.includes('postgres-1') && u.dependsOn.includes('postgres-2'), u.name)
  }
  const node = (spec: TopologySpec): string | undefined => expand(spec).find((u) => u.name === 'postgres-1')?.fingerprint
  assert.equal(node(level4({ services: { app: { instances: { count: 5 } } } })), node(level4()))
  assert.notEqual(node(level4({ databases: { postgres: { ha: { ttlMs: 5000 } } } })), node(level4()))
})

test('the agents get the spec\'s timing, synchronous mode from replication, non-strict unless asked', () => {
  const db = level4({ databases: { postgres: { ha: { ttlMs: 5000, loopWaitMs: 1000 } } } }).databases.postgres
  assert.ok(db !== undefined)
  const input = haConfigInput(db)
  assert.deepEqual(input, { ttlMs: 5000, loopWaitMs: 1000, synchronousMode: true, synchronousModeStrict: false })
  assert.doesNotThrow(() => haConfig(input))
})

test('an instance of an HA cluster names every node as a member and follows the leader in etcd', () => {
  const addresses = new Map([
    ['postgres-1', 'postgres://postgres@127.0.0.1:5001/outgrow'],
    ['postgres-2', 'postgres://postgres@127.0.0.1:5002/outgrow'],
    ['etcd-1', 'http://127.0.0.1:2379'],
    ['etcd-2', 'http://127.0.0.1:2381'],
    ['etcd-3', 'http://127.0.0.1:2383'],
    ['redis-sentinel-1', 'redis://127.0.0.1:26001'],
    ['redis-sentinel-2', 'redis://127.0.0.1:26002'],
    ['redis-sentinel-3', 'redis://127.0.0.1:26003'],
  ])
  for (const [role, config] of [['app', appProcessConfig(level4(), 'app', 'app-1', addresses)], ['worker', appProcessConfig(level4(), 'app', 'worker-1', addresses, 'worker')]] as const) {
    const db = (config as { db?: Record<string, unknown> }).db ?? {}
    assert.equal(db.primary, undefined, role)
    assert.deepEqual(db.members, { 'postgres-1': addresses.get('postgres-1'), 'postgres-2': addresses.get('postgres-2') }, role)
    assert.deepEqual(db.leader, { kind: 'dcs', etcd: { hosts: ['http://127.0.0.1:2379', 'http://127.0.0.1:2381', 'http://127.0.0.1:2383'] }, cluster: 'postgres' }, role)
    assert.deepEqual(db.replicas, [], role)
  }
})
