import assert from 'node:assert/strict'
import { test } from 'node:test'
import { lsnAtLeast, parseLsn } from '../../src/data/lsn.js'

test('LSNs compare as 64-bit positions, not as strings', () => {
  assert.equal(parseLsn('0/16B3748'), 0x16B3748n)
  assert.equal(parseLsn('1/0'), 1n << 32n)
  assert.ok(lsnAtLeast('1/0', '0/FFFFFFFF'))
  assert.ok(!lsnAtLeast('0/9', '0/10'))
  assert.ok(lsnAtLeast('A/10', 'A/10'))
  assert.throws(() => parseLsn('nonsense'))
})
