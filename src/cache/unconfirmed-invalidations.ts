import { adapterLog } from '../runtime/log.js'

/** More than this many keys or tags waiting means a long outage; the rest expire by TTL. */
const MAX_WAITING = 10_000

/**
 * Invalidations (deleted keys, invalidated tags) that failed to reach the shared cache. Until
 * one is confirmed, this process bypasses the key, and it retries every retryMs and at once
 * when asked (on reconnect), so an entry that survived the outage in Redis is removed as soon as
 * Redis answers again. Other instances may still read such an entry until then, and a process
 * that stops first loses its list: entries' TTLs bound that staleness.
 */
export class UnconfirmedInvalidations {
  readonly #keys = new Set<string>()
  readonly #tags = new Set<string>()
  readonly #send: (keys: string[], tags: string[]) => Promise<void>
  readonly #retryMs: number
  #timer: NodeJS.Timeout | undefined
  #flushing = false

  constructor (send: (keys: string[], tags: string[]) => Promise<void>, retryMs = 1000) {
    this.#send = send
    this.#retryMs = retryMs
  }

  get size (): number { return this.#keys.size + this.#tags.size }

  has (key: string): boolean { return this.#keys.has(key) }

  add (keys: readonly string[], tags: readonly string[]): void {
    for (const key of keys) if (this.#keys.size < MAX_WAITING) this.#keys.add(key)
    for (const tag of tags) if (this.#tags.size < MAX_WAITING) this.#tags.add(tag)
    if (this.#keys.size >= MAX_WAITING || this.#tags.size >= MAX_WAITING) {
      adapterLog.error({ waiting: this.size }, 'too many unconfirmed cache invalidations; further ones rely on TTLs')
    }
    // Fire and forget: flush() never rejects; what it could not send waits for the next tick.
    this.#timer ??= setInterval(() => { void this.flush() }, this.#retryMs).unref()
  }

  /** Sends everything waiting; what fails stays for the next try. */
  async flush (): Promise<void> {
    if (this.#flushing || this.size === 0) return
    this.#flushing = true
    const keys = [...this.#keys]
    const tags = [...this.#tags]
    try {
      await this.#send(keys, tags)
      for (const key of keys) this.#keys.delete(key)
      for (const tag of tags) this.#tags.delete(tag)
      adapterLog.warn({ keys: keys.length, tags: tags.length }, 'unconfirmed cache invalidations delivered')
    } catch {
      // Still unreachable; the timer tries again.
    } finally {
      this.#flushing = false
    }
    if (this.size === 0) this.stop()
  }

  stop (): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }
}
