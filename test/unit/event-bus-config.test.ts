import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseProcessConfig, type AppProcessConfig } from '../../src/config/process-config.js'
import { appProcessConfig } from '../../src/control/executors/process-configs.js'
import { preset } from '../../src/control/presets.js'
import type { TopologySpec } from '../../src/control/spec.js'
import { validateSpec } from '../../src/control/validate-spec.js'
import { OutgrowError } from '../../src/errors/index.js'

const base = { role: 'app', instanceId: 'a', port: 0, service: '/s', adminToken: 'x'.repeat(8), db: { primary: 'postgres://p' }, cache: { kind: 'none' }, session: { kind: 'memory' }, jobs: { kind: 'inprocess' } }

function refusal (events: unknown): OutgrowError {
  try {
    parseProcessConfig({ ...base, events })
  } catch (err) {
    assert.ok(err instanceof OutgrowError)
    return err
  }
  assert.fail('expected a refusal')
}

test('the event bus defaults to the in-process one; redis and nats are taken with their defaults', () => {
  assert.deepEqual((parseProcessConfig(base) as AppProcessConfig).events, { kind: 'memory' })
  assert.deepEqual((parseProcessConfig({ ...base, events: { kind: 'redis', url: 'redis://127.0.0.1:7000' } }) as AppProcessConfig).events,
    { kind: 'redis', url: 'redis://127.0.0.1:7000', namespace: 'events', maxLen: 100_000 })
  assert.deepEqual((parseProcessConfig({ ...base, events: { kind: 'nats', url: ['nats://a:4222', 'nats://b:4222'] } }) as AppProcessConfig).events,
    { kind: 'nats', url: ['nats://a:4222', 'nats://b:4222'], namespace: 'events', replicas: 1 })
})

test('a bad event bus config is refused naming the field', () => {
  assert.match(refusal({ kind: 'kafka' }).message, /events\.kind/)
  assert.match(refusal({ kind: 'redis' }).message, /events\.url/)
  assert.match(refusal({ kind: 'nats', url: 'http://x' }).message, /events\.url/)
  assert.match(refusal({ kind: 'redis', url: 'redis://x', maxLen: 5 }).message, /events\.maxLen/)
  assert.match(refusal({ kind: 'nats', url: 'nats://x', namespace: 'a.b' }).message, /events\.namespace/)
})

test('level 4 puts the events on the queue\'s Redis; level 3 keeps them in the process', () => {
  const addresses = new Map([
    ['postgres', 'postgres://127.0.0.1:5001/outgrow'], ['postgres-primary', 'postgres://127.0.0.1:5001/outgrow'],
    ['postgres-replica-1', 'postgres://127.0.0.1:5002/outgrow'], ['redis', 'redis://127.0.0.1:6000'],
  ])
  const module = 'examples/shop/service.js'
  const eventsOf = (spec: TopologySpec): unknown => (parseProcessConfig(appProcessConfig(spec, 'app', 'app-1', addresses)) as AppProcessConfig).events
  assert.deepEqual(eventsOf(validateSpec(preset(4, module, { ha: false }))), { kind: 'redis', url: 'redis://127.0.0.1:6000', namespace: 'events', maxLen: 100_000 })
  assert.deepEqual(eventsOf(validateSpec(preset(3, module))), { kind: 'memory' })
})
