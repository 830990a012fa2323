import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { RedisCache } from '../../src/cache/redis-cache.js'
import { TieredCache } from '../../src/cache/tiered-cache.js'
import { redisPerFile } from '../helpers/engines.js'

let url = ''
const ready = redisPerFile().ready.then((started) => { url = started })
before(async () => { await ready })

async function eventually (check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`not within 5 s: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('write-through across instances', () => {
  const caches: Array<TieredCache | RedisCache> = []
  after(async () => { await Promise.all(caches.map(async (cache) => { await cache.close() })) })

  it('a write-through on one instance replaces the value in the other instances\' L1', async () => {
    const a = new TieredCache(url, 'wt-tiered:', { l1MaxEntries: 100 })
    const b = new TieredCache(url, 'wt-tiered:', { l1MaxEntries: 100 })
    caches.push(a, b)
    await Promise.all([a.ready(), b.ready()])
    let loads = 0
    assert.equal(await b.wrap('price', 60, async () => { loads++; return 100 }), 100)
    assert.equal(await b.wrap('price', 60, async () => { loads++; return -1 }), 100, 'served from b\'s L1')
    assert.equal(loads, 1)
    assert.equal(await a.setVersioned('price', 120, 60, { version: 2 }), true)
    await eventually(async () => await b.get('price') === 120, 'b sees the written value')
    // b's own write of an older version (a slower request) loses, on both instances.
    assert.equal(await b.setVersioned('price', 90, 60, { version: 1 }), false)
    assert.equal(await a.get('price'), 120)
    assert.equal(await b.get('price'), 120)
  })

  it('a loader on another instance holding the lease cannot fill its older value after the write-through', async () => {
    const writer = new RedisCache(url, 'wt-lease:')
    const reader = new RedisCache(url, 'wt-lease:')
    caches.push(writer, reader)
    let release: (value: number) => void = () => {}
    let started: () => void = () => {}
    const loadStarted = new Promise<void>((resolve) => { started = resolve })
    const loading = reader.wrap('stock', 60, async () => { started(); return await new Promise<number>((resolve) => { release = resolve }) })
    await loadStarted
    assert.equal(await writer.setVersioned('stock', 7, 60, { version: 9 }), true)
    release(8)
    assert.equal(await loading, 8)
    assert.equal(await reader.get('stock'), 7, 'the lease was voided by the write-through')
    assert.equal(await writer.get('stock'), 7)
  })
})
