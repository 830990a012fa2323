import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fraction, instanceCountList } from '../../src/cli/options.js'

test('--scale-out takes increasing instance counts from 1 to 32', () => {
  assert.deepEqual(instanceCountList('1,2,4,8'), [1, 2, 4, 8])
  assert.deepEqual(instanceCountList(' 3 '), [3])
  for (const bad of ['', '0,1', '1,33', '2,1', '1,1', 'a', '1.5']) assert.throws(() => instanceCountList(bad), /instance counts/, bad)
})

test('--precision is a fraction strictly between 0 and 1', () => {
  assert.equal(fraction('0.05'), 0.05)
  for (const bad of ['0', '1', '-0.1', 'x', '2']) assert.throws(() => fraction(bad), /fraction/, bad)
})
