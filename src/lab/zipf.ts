/**
 * Zipf-distributed ranks 1..n (P(k) ∝ 1/k^s): a few products are very popular, most are not,
 * as in real shops. Sampling is a binary search over the precomputed CDF.
 */
export class Zipf {
  readonly #cdf: Float64Array
  readonly #random: () => number

  constructor (n: number, s = 1.0, random: () => number = Math.random) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError('n must be a positive integer')
    this.#cdf = new Float64Array(n)
    let sum = 0
    for (let k = 1; k <= n; k++) {
      sum += 1 / k ** s
      this.#cdf[k - 1] = sum
    }
    for (let i = 0; i < n; i++) this.#cdf[i] = (this.#cdf[i] as number) / sum
    this.#random = random
  }

  /** A rank in 1..n; rank 1 is the most likely. */
  next (): number {
    const u = this.#random()
    let lo = 0
    let hi = this.#cdf.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.#cdf[mid] as number) < u) lo = mid + 1
      else hi = mid
    }
    return lo + 1
  }
}

/** A small deterministic PRNG (mulberry32), so a bench run's request sequence is repeatable. */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
