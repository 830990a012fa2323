import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeEntry, encodeEntry, entryTimes } from '../../src/cache/cache-entry.js'
import { HotKeys } from '../../src/cache/hot-keys.js'
import { LocalEntries } from '../../src/cache/local-entries.js'
import { MemoryCache } from '../../src/cache/memory-cache.js'
import { RedisCache } from '../../src/cache/redis-cache.js'
import { TieredCache } from '../../src/cache/tiered-cache.js'
import { parseProcessConfig } from '../../src/config/process-config.js'
import { OutgrowError } from '../../src/errors/index.js'
import { createCache } from '../../src/runtime/adapters.js'

const base = { role: 'app', instanceId: 'a', port: 0, service: '/s', adminToken: 'x'.repeat(8), db: { primary: 'p' }, session: { kind: 'memory' }, jobs: { kind: 'inprocess' } }
const redisCache = { kind: 'redis', url: 'redis://127.0.0.1:1' }

test('the cache\'s fields are checked, and a bad one is named', () => {
  const parsed = parseProcessConfig({ ...base, cache: { ...redisCache, l1: false, graceSeconds: 10, jitter: 0, leases: { ms: 2000, waitMs: 0 }, maxTagKeys: 100 } })
  assert.ok(parsed.role === 'app' && parsed.cache.kind === 'redis')
  assert.equal(parsed.cache.l1, false)
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ l1: { maxEntries: 0 } }, 'cache.l1'],
    [{ l1: true }, 'cache.l1'],
    [{ l1: { hotKeys: 0 } }, 'cache.l1'],
    [{ graceSeconds: -1 }, 'cache.graceSeconds'],
    [{ jitter: 0.9 }, 'cache.jitter'],
    [{ leases: { ms: 10 } }, 'cache.leases.ms'],
    [{ leases: { waitMs: 'long' } }, 'cache.leases.waitMs'],
    [{ maxTagKeys: 0 }, 'cache.maxTagKeys'],
  ]
  for (const [fields, field] of cases) {
    assert.throws(() => parseProcessConfig({ ...base, cache: { ...redisCache, ...fields } }), (err: unknown) => {
      assert.ok(err instanceof OutgrowError)
      assert.equal(err.code, 'OUTGROW_CONFIG_INVALID')
      assert.ok(err.message.includes(field), `${err.message} names ${field}`)
      return true
    })
  }
})

test('a Redis cache has two tiers unless l1 is false', async () => {
  const tiered = createCache({ kind: 'redis', url: 'redis://127.0.0.1:1', prefix: 'c:' })
  const single = createCache({ kind: 'redis', url: 'redis://127.0.0.1:1', prefix: 'c:', l1: false })
  assert.ok(tiered instanceof TieredCache)
  assert.ok(single instanceof RedisCache)
  await tiered.close()
  await single.close()
})

test('entries carry their freshness for Lua and their tags; jitter only shortens a TTL, by at most its fraction', () => {
  const raw = encodeEntry({ a: 1 }, 1_700_000_000_123, ['lists'])
  assert.equal(raw.slice(0, 16), '001700000000123|')
  assert.deepEqual(decodeEntry(raw, 5), { value: { a: 1 }, freshUntil: 1_700_000_000_123, staleUntil: 5, tags: ['lists'] })
  assert.equal(decodeEntry('{"a":1}', 5), undefined, 'an entry of another format is a miss')
  const policy = { graceSeconds: 30, jitter: 0.1 }
  assert.deepEqual(entryTimes(60, policy, 0, () => 0), { freshUntil: 60_000, staleUntil: 90_000 })
  assert.deepEqual(entryTimes(60, policy, 0, () => 1), { freshUntil: 54_000, staleUntil: 84_000 })
})

test('the in-process tag index shrinks with the LRU: tags from user input cannot grow it without bound', async () => {
  const entries = new LocalEntries(10)
  const entry = { value: 1, freshUntil: Date.now() + 60_000, staleUntil: Date.now() + 60_000 }
  for (let i = 0; i < 1000; i++) entries.set(`search:${i}`, entry, [`q:${i}`, 'lists'])
  assert.equal(entries.size, 10)
  assert.equal(entries.tagCount, 11, 'the tags of the 10 entries held, and no others')
  entries.invalidateTags(['lists'])
  assert.equal(entries.size, 0)
  assert.equal(entries.tagCount, 0)

  const memory = new MemoryCache(5)
  for (let i = 0; i < 100; i++) await memory.set(`products:${i}`, i, 60, { tags: [`q:${i}`] })
  assert.equal(memory.tagCount, 5)
  await memory.delete('products:99')
  assert.equal(memory.tagCount, 4)
})

test('a stale in-process entry is served only until its grace ends', () => {
  const entries = new LocalEntries(10)
  entries.set('k', { value: 'v', freshUntil: 1000, staleUntil: 2000 }, [], 0)
  assert.equal(entries.get('k', 1500)?.value, 'v')
  assert.equal(entries.get('k', 2000), undefined)
})

test('hot keys: the most requested keys are found among many cold ones, and a cold key is never hot', () => {
  const hot = new HotKeys(10)
  for (let round = 0; round < 50; round++) {
    for (const key of ['product:1', 'product:2', 'product:3']) hot.observe(key)
    hot.observe(`search:${round}`)
  }
  assert.deepEqual(hot.top(3).map((h) => h.key).sort(), ['product:1', 'product:2', 'product:3'])
  assert.ok(hot.isHot('product:1'))
  assert.equal(hot.isHot('search:49'), false, 'one request: not hot, though it took over a counter')
  assert.equal(hot.isHot('never-seen'), false)
})
