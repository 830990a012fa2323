/** Why every entry must go instead of named keys and tags. */
export type FlushReason = 'slot_created' | 'too_many_keys' | 'truncate' | 'rule_failed'

/**
 * Keys and tags gathered from row changes until they are applied. Bounded: past `maxNames` keys
 * and tags it gives up naming them and asks for a full flush instead, so a bulk UPDATE of a
 * million rows costs one flush, not a million names in memory.
 */
export class PendingInvalidations {
  readonly #maxNames: number
  #keys = new Set<string>()
  #tags = new Set<string>()
  #flush: FlushReason | undefined

  constructor (maxNames: number) { this.#maxNames = maxNames }

  get empty (): boolean { return this.#flush === undefined && this.#keys.size === 0 && this.#tags.size === 0 }
  get flush (): FlushReason | undefined { return this.#flush }
  get keys (): string[] { return [...this.#keys] }
  get tags (): string[] { return [...this.#tags] }

  add (keys: readonly string[], tags: readonly string[]): void {
    if (this.#flush !== undefined) return
    for (const key of keys) this.#keys.add(key)
    for (const tag of tags) this.#tags.add(tag)
    if (this.#keys.size + this.#tags.size > this.#maxNames) this.flushAll('too_many_keys')
  }

  flushAll (reason: FlushReason): void {
    this.#flush ??= reason
    this.#keys.clear()
    this.#tags.clear()
  }

  /** Adds everything other holds. */
  merge (other: PendingInvalidations): void {
    if (other.flush !== undefined) this.flushAll(other.flush)
    else this.add(other.keys, other.tags)
  }

  /** Returns what is held and starts empty. */
  take (): PendingInvalidations {
    const taken = new PendingInvalidations(this.#maxNames)
    taken.merge(this)
    this.#keys = new Set()
    this.#tags = new Set()
    this.#flush = undefined
    return taken
  }
}
