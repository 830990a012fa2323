import type { JobIdRetention } from './queue.js'

/**
 * The ids of finished jobs an in-process queue still remembers, within a JobIdRetention: the
 * newest `count`, none older than `ageSeconds`.
 */
export class FinishedIds {
  readonly #retention: JobIdRetention
  readonly #now: () => number
  /** id → when it finished; a Map iterates in insertion order, so the oldest come first. */
  readonly #finishedAt = new Map<string, number>()

  constructor (retention: JobIdRetention, now: () => number = Date.now) {
    this.#retention = retention
    this.#now = now
  }

  add (id: string): void {
    this.#finishedAt.delete(id)
    this.#finishedAt.set(id, this.#now())
    for (const oldest of this.#finishedAt.keys()) {
      if (this.#finishedAt.size <= this.#retention.count) break
      this.#finishedAt.delete(oldest)
    }
  }

  has (id: string): boolean {
    const finishedAt = this.#finishedAt.get(id)
    if (finishedAt === undefined) return false
    if (this.#now() - finishedAt < this.#retention.ageSeconds * 1000) return true
    this.#finishedAt.delete(id)
    return false
  }
}
