import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatLsn, parseLsn } from '../../src/data/lsn.js'

test('LSNs compare as 64-bit positions, not as strings', () => {
  assert.equal(parseLsn('0/16B3748'), 0x16B3748n)
  assert.equal(parseLsn('1/0'), 1n << 32n)
  assert.ok(parseLsn('1/0') > parseLsn('0/FFFFFFFF'))
  assert.ok(parseLsn('0/9') < parseLsn('0/10'))
  assert.equal(parseLsn('A/10'), parseLsn('A/10'))
  assert.throws(() => parseLsn('nonsense'))
})

test('formatted LSNs have a fixed width, so string order is LSN order', () => {
  assert.equal(formatLsn(parseLsn('0/16B3748')), '00000000/016B3748')
  assert.equal(parseLsn(formatLsn(0x1_0000_00A0n)), 0x1_0000_00A0n)
  const positions = ['A/10', '0/FFFFFFFF', '1/0', '0/9'].map((p) => formatLsn(parseLsn(p)))
  assert.deepEqual([...positions].sort(), ['00000000/00000009', '00000000/FFFFFFFF', '00000001/00000000', '0000000A/00000010'])
})
