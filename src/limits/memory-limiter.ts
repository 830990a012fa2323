import { LRUCache } from 'lru-cache'
import type { AttemptDecision, AttemptLimit, RateLimiter } from '../runtime/ports.js'
import { decide } from './decision.js'

interface Window { count: number, endsAt: number }

/**
 * Attempt counters in this process: levels 1–2, where one process serves everything. Bounded,
 * so a flood of client addresses cannot exhaust memory (the oldest counters go first).
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #windows = new LRUCache<string, Window>({ max: 100_000 })
  readonly #now: () => number

  constructor (now: () => number = Date.now) {
    this.#now = now
  }

  #current (key: string): Window | undefined {
    const window = this.#windows.get(key)
    if (window !== undefined && window.endsAt <= this.#now()) {
      this.#windows.delete(key)
      return undefined
    }
    return window
  }

  async hit (key: string, limit: AttemptLimit): Promise<AttemptDecision> {
    let window = this.#current(key)
    if (window === undefined) this.#windows.set(key, window = { count: 0, endsAt: this.#now() + limit.windowSeconds * 1000 })
    window.count++
    return decide(window.count, window.endsAt - this.#now(), limit)
  }

  async refund (key: string): Promise<void> {
    const window = this.#current(key)
    if (window !== undefined && window.count > 0) window.count--
  }

  async reset (key: string): Promise<void> {
    this.#windows.delete(key)
  }

  async close (): Promise<void> {
    this.#windows.clear()
  }
}
