/** A key's counter: its count, and how much of it may be another key's (Space-Saving's error). */
interface Counter { count: number, error: number }

/**
 * The k most requested keys (the Space-Saving algorithm: k counters; a new key takes over the
 * smallest counter, counting from it, and remembers that much as its possible error), with counts
 * halved every `halfLife` observations so the ranking follows recent traffic. Memory and work per
 * observation are bounded by k.
 */
export class HotKeys {
  readonly #k: number
  readonly #halfLife: number
  readonly #counters = new Map<string, Counter>()
  #observed = 0

  constructor (k: number, halfLife = 10 * k) {
    this.#k = k
    this.#halfLife = Math.max(1, halfLife)
  }

  /** Counts one request for key. */
  observe (key: string): void {
    const counter = this.#counters.get(key)
    if (counter !== undefined) counter.count++
    else if (this.#counters.size < this.#k) this.#counters.set(key, { count: 1, error: 0 })
    else {
      let coldest: string | undefined
      let least = Infinity
      for (const [candidate, c] of this.#counters) {
        if (c.count < least) { least = c.count; coldest = candidate }
      }
      if (coldest !== undefined) this.#counters.delete(coldest)
      this.#counters.set(key, { count: least + 1, error: least })
    }
    if (++this.#observed % this.#halfLife === 0) this.#decay()
  }

  /** Whether key is among the k hottest with at least two requests of its own, recently. */
  isHot (key: string): boolean {
    const counter = this.#counters.get(key)
    return counter !== undefined && counter.count - counter.error >= 2
  }

  /** The hottest keys, hottest first (for logs and tests). */
  top (n = this.#k): Array<{ key: string, count: number }> {
    return [...this.#counters].sort((a, b) => b[1].count - a[1].count).slice(0, n).map(([key, c]) => ({ key, count: c.count }))
  }

  #decay (): void {
    for (const [key, c] of this.#counters) {
      c.count = Math.floor(c.count / 2)
      c.error = Math.floor(c.error / 2)
      if (c.count === 0) this.#counters.delete(key)
    }
  }
}
