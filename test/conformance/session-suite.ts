import assert from 'node:assert/strict'
import { describe, it, after } from 'node:test'
import type { SessionStore } from '../../src/session/store.js'

/** One behaviour for every session store. */
export function sessionStoreConformance (name: string, create: () => Promise<SessionStore>): void {
  describe(`session store conformance: ${name}`, () => {
    let store: SessionStore
    const ready = (async () => { store = await create() })()
    after(async () => { await store.close() })

    it('sets, reads and deletes fields', async () => {
      await ready
      await store.setField('s1', 'user', '"u1"')
      await store.setField('s1', 'n', '3')
      assert.equal(await store.getField('s1', 'user'), '"u1"')
      assert.deepEqual(await store.getAll('s1'), { user: '"u1"', n: '3' })
      await store.deleteFields('s1', ['user'])
      assert.deepEqual(await store.getAll('s1'), { n: '3' })
      assert.deepEqual(await store.getAll('unknown'), {})
    })

    it('concurrent increments of one session all land', async () => {
      await ready
      await Promise.all(Array.from({ length: 200 }, async (_, i) => await store.incrementField('s2', `cart:${i % 4}`, 1)))
      const all = await store.getAll('s2')
      assert.deepEqual(all, { 'cart:0': '50', 'cart:1': '50', 'cart:2': '50', 'cart:3': '50' })
    })

    it('maxField keeps the greatest value, also under concurrent updates', async () => {
      await ready
      const values = Array.from({ length: 100 }, (_, i) => `00000000/${String(i * 7919 % 1000).padStart(8, '0')}`)
      const held = await Promise.all(values.map(async (v) => await store.maxField('s3', 'lastWrite', v)))
      const greatest = [...values].sort().at(-1) as string
      assert.equal(await store.getField('s3', 'lastWrite'), greatest)
      assert.ok(held.every((h, i) => h >= (values[i] as string)), 'each call returns at least its own value')
      assert.equal(await store.maxField('s3', 'lastWrite', '00000000/00000001'), greatest, 'a smaller value changes nothing')
      assert.equal(await store.maxField('s3', 'lastWrite', 'FFFFFFFF/FFFFFFFF'), 'FFFFFFFF/FFFFFFFF')
      // Byte order, not the locale's: '/' (0x2F) sorts before '0'.
      await store.maxField('s3', 'order', 'a/b')
      assert.equal(await store.maxField('s3', 'order', 'a0'), 'a0')
    })

    it('rename moves the data and retires the old id', async () => {
      await ready
      await store.setField('old', 'k', '1')
      await store.rename('old', 'new')
      assert.deepEqual(await store.getAll('old'), {})
      assert.deepEqual(await store.getAll('new'), { k: '1' })
      await store.rename('never-existed', 'other')
      assert.deepEqual(await store.getAll('other'), {})
    })

    it('destroy removes the session', async () => {
      await ready
      await store.setField('gone', 'k', '1')
      await store.destroy('gone')
      assert.deepEqual(await store.getAll('gone'), {})
    })
  })
}
