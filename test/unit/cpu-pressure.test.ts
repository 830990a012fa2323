import assert from 'node:assert/strict'
import { test } from 'node:test'
import { cpuWaitShare, markCpuPressure, parseCpuPressureTotalUs } from '../../src/lab/cpu-pressure.js'

test('CPU pressure: the "some" total of /proc/pressure/cpu, and the share of a window spent waiting', () => {
  const text = 'some avg10=1.50 avg60=0.80 avg300=0.20 total=1583645674\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n'
  assert.equal(parseCpuPressureTotalUs(text), 1583645674)
  assert.equal(parseCpuPressureTotalUs('full avg10=0.00 avg60=0.00 avg300=0.00 total=7\n'), undefined)
  assert.equal(parseCpuPressureTotalUs(''), undefined)

  // 2.5 s of waiting over 10 s of wall time: a quarter of it.
  assert.equal(cpuWaitShare({ waitedUs: 1_000_000, atMs: 0 }, { waitedUs: 3_500_000, atMs: 10_000 }), 0.25)
  assert.equal(cpuWaitShare({ waitedUs: 0, atMs: 0 }, { waitedUs: 20_000_000, atMs: 10_000 }), 1, 'never above the whole window')
  assert.equal(cpuWaitShare(undefined, { waitedUs: 1, atMs: 1 }), undefined)
  assert.equal(cpuWaitShare({ waitedUs: 0, atMs: 5 }, { waitedUs: 9, atMs: 5 }), undefined, 'no time passed')

  // This machine's kernel has PSI (Linux 4.20 and later): a reading, never going back.
  const first = markCpuPressure(1000)
  const second = markCpuPressure(2000)
  assert.ok(first !== undefined && second !== undefined, '/proc/pressure/cpu is readable')
  assert.ok(second.waitedUs >= first.waitedUs)
})
