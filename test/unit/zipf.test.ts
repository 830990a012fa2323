import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Zipf, seededRandom } from '../../src/lab/zipf.js'

test('Zipf ranks follow 1/k: rank 1 about twice as common as rank 2', () => {
  const zipf = new Zipf(1000, 1.0, seededRandom(7))
  const counts = new Map<number, number>()
  for (let i = 0; i < 200_000; i++) {
    const rank = zipf.next()
    assert.ok(rank >= 1 && rank <= 1000)
    counts.set(rank, (counts.get(rank) ?? 0) + 1)
  }
  const ratio = (counts.get(1) ?? 0) / (counts.get(2) ?? 1)
  assert.ok(ratio > 1.8 && ratio < 2.2, `ratio ${ratio}`)
  const harmonic = Array.from({ length: 1000 }, (_, k) => 1 / (k + 1)).reduce((a, b) => a + b)
  const share = (counts.get(1) ?? 0) / 200_000
  assert.ok(Math.abs(share - 1 / harmonic) < 0.01, `share ${share}`)
})

test('the seeded generator repeats its sequence', () => {
  const a = seededRandom(42)
  const b = seededRandom(42)
  for (let i = 0; i < 100; i++) assert.equal(a(), b())
})
