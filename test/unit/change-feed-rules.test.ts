import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseProcessConfig } from '../../src/config/process-config.js'
import { appProcessConfig } from '../../src/control/executors/process-configs.js'
import { deepMerge, preset } from '../../src/control/presets.js'
import { validateSpec } from '../../src/control/validate-spec.js'
import { applyRule, tableRules } from '../../src/data/change-rules.js'
import { PendingInvalidations } from '../../src/data/pending-invalidations.js'
import shop from '../../examples/shop/service.js'

const rule = (): { keys: string[] } => ({ keys: ['k'] })

test('invalidateOn: each table becomes a rule with its schema; the long form asks for REPLICA IDENTITY FULL', () => {
  const tables = tableRules({ products: rule, 'audit.events': { rule, replicaIdentity: 'full' } })
  assert.deepEqual(tables.map((t) => [t.table, t.schema, t.name, t.replicaIdentityFull]), [
    ['products', 'public', 'products', false],
    ['audit.events', 'audit', 'events', true],
  ])
})

test('invalidateOn: a bad entry is refused naming its field', () => {
  const refused = (input: unknown, field: string): void => {
    assert.throws(() => tableRules(input), (err: { code?: string, details?: { field?: string }, message: string }) =>
      err.code === 'OUTGROW_CONFIG_INVALID' && err.details?.field === field && err.message.includes(field), field)
  }
  refused(undefined, 'invalidateOn')
  refused({}, 'invalidateOn')
  refused({ 'Products; DROP TABLE x': rule }, 'invalidateOn.Products; DROP TABLE x')
  refused({ products: 'product:1' }, 'invalidateOn.products')
  refused({ products: { rule, replicaIdentity: 'default' } }, 'invalidateOn.products.replicaIdentity')
  refused({ products: { rule, replicaIdentity: 'full', columns: ['id'] } }, 'invalidateOn.products.columns')
})

test('a rule that throws or returns anything but lists of strings fails naming its table', () => {
  const [table] = tableRules({ products: ({ row }: { row: Readonly<Record<string, unknown>> }) => ({ keys: [`product:${String(row.id)}`], tags: ['lists'] }) })
  assert.ok(table !== undefined)
  assert.deepEqual(applyRule(table, { table: 'products', op: 'delete', row: { id: 7 } }), { keys: ['product:7'], tags: ['lists'] })
  const bad = (fn: unknown): void => {
    const [t] = tableRules({ products: fn })
    assert.throws(() => applyRule(t as NonNullable<typeof t>, { table: 'products', op: 'insert', row: {} }), /invalidateOn\.products/)
  }
  bad(() => { throw new Error('no id') })
  bad(() => undefined)
  bad(() => ({ keys: 'product:1' }))
  bad(() => ({ keys: [''] }))
  bad(() => ({ tags: [1] }))
})

test('pending invalidations gather names until too many, then ask for one full flush', () => {
  const pending = new PendingInvalidations(3)
  pending.add(['a', 'b'], ['t'])
  assert.deepEqual([pending.keys, pending.tags, pending.flush], [['a', 'b'], ['t'], undefined])
  const taken = pending.take()
  assert.equal(pending.empty, true)
  assert.deepEqual(taken.keys, ['a', 'b'])
  pending.add(['a', 'b', 'c'], ['t'])
  assert.equal(pending.flush, 'too_many_keys')
  assert.deepEqual(pending.keys, [])
  const other = new PendingInvalidations(3)
  other.add(['x'], [])
  other.merge(pending)
  assert.equal(other.flush, 'too_many_keys', 'a flush absorbs names')
  other.add(['y'], [])
  assert.deepEqual(other.keys, [])
})

test('the shop\'s rules: a product update invalidates its page (old and new key), an insert or delete the lists too', () => {
  const tables = tableRules(shop.invalidateOn)
  const products = tables.find((t) => t.table === 'products')
  assert.ok(products !== undefined)
  assert.deepEqual(applyRule(products, { table: 'products', op: 'update', row: { id: 3 } }), { keys: ['product:3'], tags: [] })
  assert.deepEqual(applyRule(products, { table: 'products', op: 'update', row: { id: 4 }, old: { id: 3 } }), { keys: ['product:4', 'product:3'], tags: [] })
  assert.deepEqual(applyRule(products, { table: 'products', op: 'delete', row: { id: 3 } }), { keys: ['product:3'], tags: ['product-lists'] })
})

const addresses = new Map([
  ['postgres-primary', 'postgres://postgres@127.0.0.1:5001/outgrow'],
  ['postgres-pooler', 'postgres://postgres@127.0.0.1:5002/outgrow'],
  ['postgres-replica-1', 'postgres://postgres@127.0.0.1:5003/outgrow'],
  ['redis', 'redis://127.0.0.1:7001'],
])

test('the level presets turn the change feed on: in the app process at level 3, in the worker only at level 4', () => {
  const three = parseProcessConfig(appProcessConfig(validateSpec(preset(3, '/srv/shop/service.js')), 'app', 'app-1', addresses))
  assert.ok(three.role !== 'gateway')
  assert.deepEqual(three.changeFeed, { slot: 'outgrow_cache_app', publication: 'outgrow_cache_app', retryMaxMs: 5000, maxKeys: 10_000 })
  const fourSpec = validateSpec(preset(4, '/srv/shop/service.js', { ha: false }))
  const app = parseProcessConfig(appProcessConfig(fourSpec, 'app', 'app-1', addresses))
  const worker = parseProcessConfig(appProcessConfig(fourSpec, 'app', 'worker-1', addresses, 'worker'))
  assert.ok(app.role !== 'gateway' && worker.role !== 'gateway')
  assert.equal(app.changeFeed, undefined)
  assert.equal(worker.changeFeed?.slot, 'outgrow_cache_app')
  for (const level of [1, 2] as const) {
    const config = parseProcessConfig(appProcessConfig(validateSpec(preset(level, '/srv/shop/service.js')), 'app', 'app-1', addresses))
    assert.ok(config.role !== 'gateway' && config.changeFeed === undefined, `level ${level}`)
  }
  const off = validateSpec(deepMerge(preset(3, '/srv/shop/service.js'), { services: { app: { changeFeed: { enabled: false } } } }))
  assert.equal((appProcessConfig(off, 'app', 'app-1', addresses) as { changeFeed?: unknown }).changeFeed, undefined)
})

test('behind a pooler the feed streams from the primary itself', () => {
  const spec = validateSpec(deepMerge(preset(3, '/srv/shop/service.js'), { databases: { postgres: { pooler: { kind: 'pgbouncer' } } } }))
  const config = appProcessConfig(spec, 'app', 'app-1', addresses) as { changeFeed?: { url?: string }, db: { primary?: string } }
  assert.equal(config.db.primary, 'postgres://postgres@127.0.0.1:5002/outgrow')
  assert.equal(config.changeFeed?.url, 'postgres://postgres@127.0.0.1:5001/outgrow')
})

test('the process config refuses a bad change feed, naming the field', () => {
  const base = parseProcessConfig(appProcessConfig(validateSpec(preset(3, '/srv/shop/service.js')), 'app', 'app-1', addresses))
  const refused = (changeFeed: unknown, field: string): void => {
    assert.throws(() => parseProcessConfig({ ...base, changeFeed }), (err: { code?: string, details?: { field?: string } }) =>
      err.code === 'OUTGROW_CONFIG_INVALID' && err.details?.field === field, field)
  }
  refused({ slot: 'Outgrow-Cache', publication: 'p' }, 'changeFeed.slot')
  refused({ slot: 's', publication: 'x'.repeat(64) }, 'changeFeed.publication')
  refused({ slot: 's', publication: 'p', retryMaxMs: 10 }, 'changeFeed.retryMaxMs')
  refused({ slot: 's', publication: 'p', flush: true }, 'changeFeed')
  assert.throws(() => validateSpec(deepMerge(preset(3, '/srv/shop/service.js'), { services: { app: { changeFeed: { slot: 'a b' } } } })), /services\.app\.changeFeed\.slot/)
})
