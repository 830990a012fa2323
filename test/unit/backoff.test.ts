import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Backoff } from '../../src/control/backoff.js'

test('delays double from 0.5 s and stop at 30 s', () => {
  const b = new Backoff()
  const delays: number[] = []
  for (let i = 0; i < 10; i++) delays.push(b.failure('app-1', i * 1000))
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000])
})

test('notBefore is the failure time plus its delay; 0 for a key that never failed', () => {
  const b = new Backoff()
  assert.equal(b.notBefore('app-1'), 0)
  b.failure('app-1', 10_000)
  assert.equal(b.notBefore('app-1'), 10_500)
  b.failure('app-1', 11_000)
  assert.equal(b.notBefore('app-1'), 12_000)
})

test('keys back off independently', () => {
  const b = new Backoff()
  b.failure('a', 0)
  b.failure('a', 1)
  assert.equal(b.failure('b', 2), 500)
  assert.equal(b.failure('a', 3), 2000)
  assert.equal(b.notBefore('b'), 502)
})

test('a key that went longer than resetAfter without failing starts over; at exactly resetAfter it does not', () => {
  const b = new Backoff(500, 30_000, 60_000)
  b.failure('app-1', 0)
  b.failure('app-1', 1000)
  assert.equal(b.failure('app-1', 61_000), 2000, '60 s after the last failure: still counting')
  assert.equal(b.failure('app-1', 121_001), 500, 'more than 60 s later: starts over')
})

test('forget clears a key', () => {
  const b = new Backoff()
  b.failure('app-1', 0)
  b.failure('app-1', 1)
  b.forget('app-1')
  assert.equal(b.notBefore('app-1'), 0)
  assert.equal(b.failure('app-1', 2), 500)
})

test('base and max are configurable, and very many failures stay at max', () => {
  const b = new Backoff(10, 35)
  const delays = Array.from({ length: 2000 }, (_, i) => b.failure('k', i))
  assert.deepEqual(delays.slice(0, 4), [10, 20, 35, 35])
  assert.equal(delays.at(-1), 35)
})
