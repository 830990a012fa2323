import assert from 'node:assert/strict'
import { describe, it, after } from 'node:test'
import type { BaseCache } from '../../src/cache/base-cache.js'
import type { LoadContext } from '../../src/runtime/ports.js'

/** One behaviour for every cache adapter. */
export function cacheConformance (name: string, create: () => Promise<BaseCache>): void {
  describe(`cache conformance: ${name}`, () => {
    let cache: BaseCache
    const ready = (async () => { cache = await create() })()
    after(async () => { await cache.close() })

    it('stores and returns values, including null', async () => {
      await ready
      await cache.set('a', { n: 1, list: [1, 2] }, 60)
      await cache.set('nothing', null, 60)
      assert.deepEqual(await cache.get('a'), { n: 1, list: [1, 2] })
      assert.equal(await cache.get('nothing'), null)
      assert.equal(await cache.get('missing'), undefined)
    })

    it('expires entries after their TTL', async () => {
      await ready
      await cache.set('short', 'x', 1)
      await cache.set('long', 'y', 60)
      const setAt = Date.now()
      assert.equal(await cache.get('short'), 'x')
      // Polled rather than one fixed sleep: how much later than 1 s it goes depends on the adapter
      // (Redis expires keys with its own clock) and on a busy machine, not on the contract.
      let expiredAfterMs: number | undefined
      while (expiredAfterMs === undefined && Date.now() - setAt < 5000) {
        if (await cache.get('short') === undefined) expiredAfterMs = Date.now() - setAt
        else await new Promise((resolve) => setTimeout(resolve, 50))
      }
      assert.ok(expiredAfterMs !== undefined, 'expired within 5 s of a 1 s TTL')
      // TTL jitter may shorten a TTL by up to 10 %.
      assert.ok(expiredAfterMs >= 850, `not before its TTL less jitter (gone after ${expiredAfterMs} ms)`)
      assert.equal(await cache.get('long'), 'y', 'a longer TTL is unaffected')
    })

    it('deletes keys and invalidates tags', async () => {
      await ready
      await cache.set('p1', 1, 60, { tags: ['lists'] })
      await cache.set('p2', 2, 60, { tags: ['lists', 'other'] })
      await cache.set('p3', 3, 60)
      await cache.invalidateTags('lists')
      assert.equal(await cache.get('p1'), undefined)
      assert.equal(await cache.get('p2'), undefined)
      assert.equal(await cache.get('p3'), 3)
      await cache.delete('p3')
      assert.equal(await cache.get('p3'), undefined)
    })

    it('wrap loads once for concurrent misses and then serves the cached value', async () => {
      await ready
      let loads = 0
      const load = async (): Promise<string> => {
        loads++
        await new Promise((resolve) => setTimeout(resolve, 20))
        return 'loaded'
      }
      const values = await Promise.all(Array.from({ length: 10 }, async () => await cache.wrap('w', 60, load)))
      assert.deepEqual(new Set(values), new Set(['loaded']))
      assert.equal(loads, 1)
      assert.equal(await cache.wrap('w', 60, load), 'loaded')
      assert.equal(loads, 1)
    })

    it('getMany returns the values in the keys\' order in one call; setMany stores several with tags', async () => {
      await ready
      await cache.setMany([{ key: 'm1', value: { n: 1 } }, { key: 'm3', value: null }], 60, { tags: ['many'] })
      assert.deepEqual(await cache.getMany(['m1', 'm2', 'm3']), [{ n: 1 }, undefined, null])
      assert.deepEqual(await cache.getMany([]), [])
      await cache.invalidateTags('many')
      assert.deepEqual(await cache.getMany(['m1', 'm3']), [undefined, undefined])
    })

    it('wrap loads again after a delete and after a tag invalidation, and does not cache undefined', async () => {
      await ready
      let version = 0
      const load = async (): Promise<number> => ++version
      assert.equal(await cache.wrap('v', 60, load, { tags: ['versions'] }), 1)
      assert.equal(await cache.wrap('v', 60, load, { tags: ['versions'] }), 1)
      await cache.delete('v')
      assert.equal(await cache.wrap('v', 60, load, { tags: ['versions'] }), 2)
      await cache.invalidateTags('versions')
      assert.equal(await cache.wrap('v', 60, load, { tags: ['versions'] }), 3)
      let loads = 0
      const nothing = async (): Promise<undefined> => { loads++; return undefined }
      assert.equal(await cache.wrap('u', 60, nothing), undefined)
      assert.equal(await cache.wrap('u', 60, nothing), undefined)
      assert.equal(loads, 2)
    })

    it('a wrap whose load fails rejects, and the next one loads', async () => {
      await ready
      await assert.rejects(cache.wrap('f', 60, async () => { throw new Error('database down') }), /database down/)
      assert.equal(await cache.wrap('f', 60, async () => 'ok'), 'ok')
    })

    it('a load after an invalidation with a write position is told to read at or after it', async () => {
      await ready
      const seen: Array<string | undefined> = []
      const load = async ({ after }: LoadContext): Promise<number> => { seen.push(after); return seen.length }
      await cache.wrap('fenced', 60, load)
      await cache.invalidate({ keys: ['fenced'], after: '00000000/00000200' })
      await cache.invalidate({ keys: ['fenced'], after: '00000000/00000100' })
      assert.equal(await cache.get('fenced'), undefined, 'invalidated')
      await cache.wrap('fenced', 60, load)
      // A list never cached before the write is fenced through its tag.
      await cache.invalidate({ tags: ['fenced-lists'], after: '00000000/00000300' })
      await cache.wrap('new-list', 60, load, { tags: ['fenced-lists'] })
      await cache.wrap('unrelated', 60, load)
      assert.deepEqual(seen, [undefined, '00000000/00000200', '00000000/00000300', undefined], 'the greatest position; nothing for others')
    })

    it('a versioned write-through keeps only the newest version, across deletes', async () => {
      await ready
      assert.equal(await cache.setVersioned('wt', 'v2', 60, { version: 2 }), true)
      assert.equal(await cache.setVersioned('wt', 'v1', 60, { version: 1 }), false, 'an older version loses')
      assert.equal(await cache.setVersioned('wt', 'v2 again', 60, { version: 2 }), false, 'an equal version loses')
      assert.equal(await cache.get('wt'), 'v2')
      assert.equal(await cache.setVersioned('wt', 'v3', 60, { version: 3 }), true)
      assert.equal(await cache.get('wt'), 'v3')
      await cache.delete('wt')
      assert.equal(await cache.setVersioned('wt', 'late v2', 60, { version: 2 }), false, 'a delete does not forget the version')
      assert.equal(await cache.get('wt'), undefined)
      // Racing writers, in any order: the newest version is what stays.
      const versions = Array.from({ length: 30 }, (_, i) => i + 10).sort(() => Math.random() - 0.5)
      await Promise.all(versions.map(async (version) => await cache.setVersioned('wt-race', { version }, 60, { version })))
      assert.deepEqual(await cache.get('wt-race'), { version: 39 })
    })

    it('a load that read the row before a write-through cannot replace the written value', async () => {
      await ready
      let release: (value: string) => void = () => {}
      let started: () => void = () => {}
      const loadStarted = new Promise<void>((resolve) => { started = resolve })
      const loading = cache.wrap('wt-load', 60, async () => { started(); return await new Promise<string>((resolve) => { release = resolve }) })
      // The loader is under way (it holds the lease where there are leases) when the write lands.
      await loadStarted
      assert.equal(await cache.setVersioned('wt-load', 'written', 60, { version: 7 }), true)
      release('read before the write')
      assert.equal(await loading, 'read before the write', 'the loader still answers its own caller')
      assert.equal(await cache.get('wt-load'), 'written', 'but its older value is not cached')
    })

    it('an invalidation with versions makes an older write-through that arrives later lose', async () => {
      await ready
      await cache.set('wt-inv', 'cached', 60)
      await cache.invalidate({ keys: ['wt-inv'], versions: { 'wt-inv': 5 } })
      assert.equal(await cache.get('wt-inv'), undefined)
      assert.equal(await cache.setVersioned('wt-inv', 'v4', 60, { version: 4 }), false)
      assert.equal(await cache.get('wt-inv'), undefined)
      assert.equal(await cache.setVersioned('wt-inv', 'v6', 60, { version: 6 }), true)
      assert.equal(await cache.get('wt-inv'), 'v6')
    })

    it('a bad version is refused naming the field, and changes nothing', async () => {
      await ready
      await cache.setVersioned('wt-bad', 'kept', 60, { version: 1 })
      for (const version of [-1, 1.5, Number.NaN, 2 ** 60]) {
        await assert.rejects(cache.setVersioned('wt-bad', 'bad', 60, { version }), (err: { code?: string, details?: { field?: string } }) =>
          err.code === 'OUTGROW_VALIDATION' && err.details?.field === 'version')
      }
      await assert.rejects(cache.invalidate({ keys: ['wt-bad'], versions: { 'wt-bad': -3 } }), (err: { code?: string, details?: { field?: string } }) =>
        err.code === 'OUTGROW_VALIDATION' && err.details?.field === 'versions.wt-bad')
      assert.equal(await cache.get('wt-bad'), 'kept')
    })

    it('a returned value cannot be changed by the caller', async () => {
      await ready
      await cache.set('obj', { n: 1 }, 60)
      const first = await cache.get<{ n: number }>('obj')
      if (first !== undefined) first.n = 99
      assert.deepEqual(await cache.get('obj'), { n: 1 })
    })
  })
}
