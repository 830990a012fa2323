import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryRegistry } from '../../src/gateway/registry.js'

test('memory registry: a removal by id tells the owner once; leaving by itself does not', async () => {
  const registry = new MemoryRegistry()
  const removed: string[] = []
  await registry.register({ id: 'a', url: 'http://127.0.0.1:1' }, { onRemoved: () => { removed.push('a') } })
  const b = await registry.register({ id: 'b', url: 'http://127.0.0.1:2' }, { onRemoved: () => { removed.push('b') } })
  await registry.deregister('a')
  await registry.deregister('a')
  await b.leave()
  assert.deepEqual(removed, ['a'])
  assert.deepEqual(await registry.list(), [])
})

test('memory registry: leave() after being removed and registered anew leaves the new entry alone', async () => {
  const registry = new MemoryRegistry()
  const first = await registry.register({ id: 'a', url: 'http://127.0.0.1:1' })
  await registry.deregister('a')
  await registry.register({ id: 'a', url: 'http://127.0.0.1:2' })
  await first.leave()
  assert.deepEqual(await registry.list(), [{ id: 'a', url: 'http://127.0.0.1:2' }])
})
