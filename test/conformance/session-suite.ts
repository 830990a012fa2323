import assert from 'node:assert/strict'
import { describe, it, after } from 'node:test'
import type { SessionStore } from '../../src/session/store.js'

const create = { create: true }

/** One behaviour for every session store. */
export function sessionStoreConformance (name: string, make: () => Promise<SessionStore>): void {
  describe(`session store conformance: ${name}`, () => {
    let store: SessionStore
    const ready = (async () => { store = await make() })()
    after(async () => { await store.close() })

    it('sets, reads and deletes fields', async () => {
      await ready
      assert.equal(await store.setField('s1', 'user', '"u1"', create), true)
      assert.equal(await store.setField('s1', 'n', '3'), true)
      assert.equal(await store.getField('s1', 'user'), '"u1"')
      assert.deepEqual(await store.getAll('s1'), { user: '"u1"', n: '3' })
      await store.deleteFields('s1', ['user'])
      assert.deepEqual(await store.getAll('s1'), { n: '3' })
      assert.deepEqual(await store.getAll('unknown'), {})
    })

    it('concurrent increments of one session all land', async () => {
      await ready
      await Promise.all(Array.from({ length: 200 }, async (_, i) => await store.incrementField('s2', `cart:${i % 4}`, 1, create)))
      const all = await store.getAll('s2')
      assert.deepEqual(all, { 'cart:0': '50', 'cart:1': '50', 'cart:2': '50', 'cart:3': '50' })
    })

    it('maxField keeps the greatest value, also under concurrent updates', async () => {
      await ready
      const values = Array.from({ length: 100 }, (_, i) => `00000000/${String(i * 7919 % 1000).padStart(8, '0')}`)
      const held = await Promise.all(values.map(async (v) => await store.maxField('s3', 'lastWrite', v, create)))
      const greatest = [...values].sort().at(-1) as string
      assert.equal(await store.getField('s3', 'lastWrite'), greatest)
      assert.ok(held.every((h, i) => h !== undefined && h >= (values[i] as string)), 'each call returns at least its own value')
      assert.equal(await store.maxField('s3', 'lastWrite', '00000000/00000001'), greatest, 'a smaller value changes nothing')
      assert.equal(await store.maxField('s3', 'lastWrite', 'FFFFFFFF/FFFFFFFF'), 'FFFFFFFF/FFFFFFFF')
      // Byte order, not the locale's: '/' (0x2F) sorts before '0'.
      await store.maxField('s3', 'order', 'a/b')
      assert.equal(await store.maxField('s3', 'order', 'a0'), 'a0')
    })

    it('maxField never creates a session it was not allowed to', async () => {
      await ready
      assert.equal(await store.maxField('never-issued', 'lastWrite', '00000000/00000001'), undefined)
      assert.deepEqual(await store.getAll('never-issued'), {})
    })

    it('rename moves the data and retires the old id', async () => {
      await ready
      await store.setField('old', 'k', '1', create)
      await store.rename('old', 'new')
      assert.deepEqual(await store.getAll('old'), {})
      assert.deepEqual(await store.getAll('new'), { k: '1' })
      await store.rename('never-existed', 'other')
      assert.deepEqual(await store.getAll('other'), {})
    })

    it('destroy removes the session', async () => {
      await ready
      await store.setField('gone', 'k', '1', create)
      await store.destroy('gone')
      assert.deepEqual(await store.getAll('gone'), {})
    })

    it('writes without create never bring a session into existence', async () => {
      await ready
      assert.equal(await store.setField('never-issued', 'userId', '1'), false)
      assert.equal(await store.incrementField('never-issued', 'cart:1', 1), undefined)
      assert.deepEqual(await store.getAll('never-issued'), {})
    })

    it('a write in flight after destroy does not resurrect the session', async () => {
      await ready
      await store.setField('logged-out', 'userId', '7', create)
      await store.destroy('logged-out')
      assert.equal(await store.setField('logged-out', 'cart:1', '2'), false)
      assert.equal(await store.incrementField('logged-out', 'cart:1', 1), undefined)
      assert.deepEqual(await store.getAll('logged-out'), {})
    })

    it('a write in flight with the old id after rename does not recreate it', async () => {
      await ready
      await store.setField('pre-login', 'cart:1', '1', create)
      await store.rename('pre-login', 'post-login')
      assert.equal(await store.incrementField('pre-login', 'cart:1', 1), undefined)
      assert.equal(await store.setField('pre-login', 'note', '"x"'), false)
      assert.deepEqual(await store.getAll('pre-login'), {})
      assert.deepEqual(await store.getAll('post-login'), { 'cart:1': '1' })
    })

    it('a session whose last field is deleted no longer exists', async () => {
      await ready
      await store.setField('emptied', 'k', '1', create)
      await store.deleteFields('emptied', ['k'])
      assert.equal(await store.setField('emptied', 'k', '2'), false)
      assert.deepEqual(await store.getAll('emptied'), {})
    })
  })
}
