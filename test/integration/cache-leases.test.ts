import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { Redis } from 'ioredis'
import { RedisCache, type RedisCacheOptions } from '../../src/cache/redis-cache.js'
import { TieredCache } from '../../src/cache/tiered-cache.js'
import { redisPerFile } from '../helpers/engines.js'
import { sleep, waitUntil } from '../helpers/wait.js'

/** Leases across instances (two caches on one Redis), grace, and bounded tags. */
let url = ''
let raw: Redis
let prefixes = 0
const ready = redisPerFile().ready.then((started) => {
  url = started
  raw = new Redis(url)
})
before(async () => { await ready })
after(() => { raw.disconnect() })

const NO_JITTER = { graceSeconds: 0, jitter: 0 }

async function tieredPair (): Promise<[TieredCache, TieredCache]> {
  const prefix = `l${++prefixes}:`
  const options = { l1MaxEntries: 100, ttl: NO_JITTER, leases: { ms: 5000, waitMs: 2000 } }
  const pair: [TieredCache, TieredCache] = [new TieredCache(url, prefix, options), new TieredCache(url, prefix, options)]
  await Promise.all(pair.map(async (c) => { await c.ready() }))
  return pair
}

function redisPair (options: RedisCacheOptions = {}): [RedisCache, RedisCache] {
  const prefix = `r${++prefixes}:`
  const all = { ttl: NO_JITTER, leases: { ms: 5000, waitMs: 2000 }, ...options }
  return [new RedisCache(url, prefix, all), new RedisCache(url, prefix, all)]
}

/** A load that waits until released, counting its calls. */
function gatedLoad<T> (value: T): { load: () => Promise<T>, release: () => void, calls: () => number } {
  let calls = 0
  let open: () => void = () => {}
  const gate = new Promise<void>((resolve) => { open = resolve })
  return { load: async () => { calls++; await gate; return value }, release: () => { open() }, calls: () => calls }
}

test('many concurrent misses on two instances: one loads (holding the lease), the others wait for its value', async (t) => {
  for (const [a, b] of [await tieredPair(), redisPair()]) {
    t.after(async () => { await a.close(); await b.close() })
    const gated = gatedLoad({ id: 7 })
    const all = Promise.all([...Array.from({ length: 10 }, async () => await a.wrap('product:7', 60, gated.load)), ...Array.from({ length: 10 }, async () => await b.wrap('product:7', 60, gated.load))])
    await sleep(100)
    gated.release()
    const values = await all
    assert.equal(gated.calls(), 1, `${a.constructor.name}: one load for 20 misses on two instances`)
    assert.ok(values.every((v) => v.id === 7))
  }
})

test('a value loaded before a delete is not stored after it (the delete voided the lease): the load → delete → set race', async (t) => {
  for (const [a, b] of [await tieredPair(), redisPair()]) {
    t.after(async () => { await a.close(); await b.close() })
    const old = gatedLoad({ price: 100 })
    const loading = a.wrap('product:8', 60, old.load)
    await sleep(50)
    // The write (price now 90) commits and invalidates while the old price is being loaded.
    await b.delete('product:8')
    old.release()
    assert.deepEqual(await loading, { price: 100 }, 'the loading caller still gets what it read')
    assert.equal(await a.get('product:8'), undefined, `${a.constructor.name}: the old value was refused`)
    assert.equal(await b.get('product:8'), undefined)
    assert.deepEqual(await b.wrap('product:8', 60, async () => ({ price: 90 })), { price: 90 })
    assert.deepEqual(await a.wrap('product:8', 60, async () => ({ price: -1 })), { price: 90 })
  }
})

test('a list loaded before its tag is invalidated is not stored after it', async (t) => {
  const [a, b] = redisPair()
  t.after(async () => { await a.close(); await b.close() })
  const old = gatedLoad(['old page'])
  const loading = a.wrap('products:1', 30, old.load, { tags: ['lists'] })
  // The loader runs: its key joined the tag and holds the lease.
  assert.ok(await waitUntil(async () => old.calls() === 1, 10_000, 5))
  await b.invalidateTags('lists')
  old.release()
  await loading
  assert.equal(await b.get('products:1'), undefined)
})

test('a loader that waited in vain loads itself, uncached; a failed load gives its lease back at once', async (t) => {
  // A lease far longer than the wait: a caller that waited for the lease would be seen.
  const [a, b] = redisPair({ leases: { ms: 60_000, waitMs: 100 } })
  t.after(async () => { await a.close(); await b.close() })
  const slow = gatedLoad('slow')
  const first = a.wrap('k', 60, slow.load)
  assert.ok(await waitUntil(async () => slow.calls() === 1, 10_000, 5))
  const started = Date.now()
  assert.equal(await b.wrap('k', 60, async () => 'own'), 'own')
  assert.ok(Date.now() - started < 30_000, 'waited about waitMs, not the lease')
  slow.release()
  assert.equal(await first, 'slow')
  assert.equal(await b.get('k'), 'slow', 'the lease holder stored its value')

  // Here a wait would last the whole waitMs: a caller that loads at once found no lease.
  const [c, d] = redisPair({ leases: { ms: 60_000, waitMs: 30_000 } })
  t.after(async () => { await c.close(); await d.close() })
  await assert.rejects(c.wrap('f', 60, async () => { throw new Error('db down') }))
  const again = Date.now()
  assert.equal(await d.wrap('f', 60, async () => 'loaded'), 'loaded')
  assert.ok(Date.now() - again < 15_000, 'no wait for a lease that was given back')
})

test('grace: past its TTL a value is served stale at once while one refresh runs', async (t) => {
  const [a, b] = redisPair({ ttl: { graceSeconds: 30, jitter: 0 } })
  t.after(async () => { await a.close(); await b.close() })
  assert.equal(await a.wrap('g', 1, async () => 'v1'), 'v1')
  await sleep(1100)
  assert.equal(await a.get('g'), undefined, 'get answers fresh values only')
  const refresh = gatedLoad('v2')
  assert.equal(await a.wrap('g', 1, refresh.load), 'v1', 'stale, without waiting for the load')
  assert.equal(await b.wrap('g', 1, refresh.load), 'v1', 'another instance gets the stale value too')
  refresh.release()
  await sleep(50)
  assert.equal(refresh.calls(), 1)
  assert.equal(await b.wrap('g', 1, async () => 'v3'), 'v2')
})

test('tag sets are bounded: beyond maxTagKeys a key is not cached, and invalidation still removes every cached one', async (t) => {
  const [a, b] = redisPair({ maxTagKeys: 3 })
  t.after(async () => { await a.close(); await b.close() })
  let loads = 0
  for (let i = 0; i < 5; i++) await a.wrap(`search:${i}`, 60, async () => { loads++; return i }, { tags: ['lists'] })
  assert.deepEqual(await b.getMany(['search:0', 'search:1', 'search:2', 'search:3', 'search:4']), [0, 1, 2, undefined, undefined])
  await a.set('search:9', 9, 60, { tags: ['lists'] })
  assert.equal(await b.get('search:9'), undefined, 'a set beyond the bound is skipped too')
  const tagKeys = await raw.keys(`r${prefixes}:tag:*`)
  assert.equal(tagKeys.length, 1)
  assert.equal(await raw.scard(tagKeys[0] as string), 3)
  await b.invalidateTags('lists')
  assert.deepEqual(await a.getMany(['search:0', 'search:1', 'search:2']), [undefined, undefined, undefined])
  assert.equal(await raw.scard(tagKeys[0] as string), 0, 'invalidated keys leave the set')
  assert.equal(loads, 5)
})

test('an entry and its lease share a hash slot, and every script is given the keys it touches', async () => {
  const [a, b] = redisPair()
  await b.close()
  await a.wrap('products:cat:{q}:1', 60, async () => 1, { tags: ['lists'] })
  const keys = (await raw.keys(`r${prefixes}:*`)).sort()
  assert.deepEqual(keys, [`r${prefixes}:tag:{lists}`, `r${prefixes}:{products:cat:{q}:1}`])
  await a.close()
})

test('a write fence reaches every instance: after one instance invalidates with a write position, a load on another reads at or after it', async (t) => {
  for (const [a, b] of [await tieredPair(), redisPair()]) {
    t.after(async () => { await a.close(); await b.close() })
    await a.wrap('product:9', 60, async () => ({ price: 100 }))
    await a.invalidate({ keys: ['product:9'], tags: ['lists'], after: '00000001/0000A000' })
    let after: string | undefined
    assert.deepEqual(await b.wrap('product:9', 60, async (context) => { after = context.after; return { price: 90 } }), { price: 90 })
    assert.equal(after, '00000001/0000A000', `${a.constructor.name}: the key's fence`)
    after = undefined
    await b.wrap('products:search', 30, async (context) => { after = context.after; return [] }, { tags: ['lists'] })
    assert.equal(after, '00000001/0000A000', 'the tag\'s fence, for a key first cached after the write')
  }
})
