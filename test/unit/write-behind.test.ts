import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { writeBehindConfigSchema } from '../../src/config/process-config.js'
import { parseOrThrow } from '../../src/config/validate.js'
import { checkAppend, compareStreamIds, partitionOf } from '../../src/write-behind/write-behind.js'

describe('write-behind helpers', () => {
  it('puts every write of a key in one partition, and spreads keys over all of them', () => {
    const seen = new Set<number>()
    for (let i = 0; i < 1000; i++) {
      const partition = partitionOf(`product-${i}`, 8)
      assert.equal(partitionOf(`product-${i}`, 8), partition)
      assert.ok(partition >= 0 && partition < 8)
      seen.add(partition)
    }
    assert.equal(seen.size, 8)
  })

  it('orders stream ids by time, then sequence, beyond what a double holds', () => {
    assert.ok(compareStreamIds('1-10', '2-1') < 0)
    assert.ok(compareStreamIds('5-2', '5-10') < 0, 'numerically, not as strings')
    assert.equal(compareStreamIds('7-3', '7-3'), 0)
    assert.ok(compareStreamIds('18446744073709551615-1', '18446744073709551615-0') > 0)
  })

  it('refuses an append naming the field: unknown stream, empty or long key, no JSON', () => {
    const appliers = { views: async () => {} }
    const field = (f: string) => (err: { code?: string, details?: { field?: string } }) => err.code === 'OUTGROW_VALIDATION' && err.details?.field === f
    assert.throws(() => checkAppend(appliers, 'toString', 'k', 1), field('stream'))
    assert.throws(() => checkAppend(appliers, 'views', '', 1), field('key'))
    assert.throws(() => checkAppend(appliers, 'views', 'x'.repeat(513), 1), field('key'))
    assert.throws(() => checkAppend(appliers, 'views', 'k', undefined as never), field('payload'))
    assert.equal(checkAppend(appliers, 'views', 'k', { n: 1 }).json, '{"n":1}')
  })

  it('configuration: defaults for a Redis target, and a bad field refused by name', () => {
    const parsed = parseOrThrow(writeBehindConfigSchema, { kind: 'redis', url: 'redis://127.0.0.1:6379' }, 'writeBehind')
    assert.deepEqual(parsed.kind === 'redis' ? [parsed.partitions, parsed.batchSize, parsed.leaseMs, parsed.prefix] : [], [4, 500, 5000, 'wb:'])
    assert.throws(() => parseOrThrow(writeBehindConfigSchema, { kind: 'redis', url: 'redis://127.0.0.1:6379', partitions: 0 }, 'writeBehind'), /partitions/)
    assert.throws(() => parseOrThrow(writeBehindConfigSchema, { kind: 'direct', batchSize: 5 }, 'writeBehind'), /batchSize/)
  })
})
