import { randomBytes } from 'node:crypto'
import { OutgrowError } from '../errors/index.js'
import type { JsonValue } from '../runtime/ports.js'
import { checkNotice } from './check.js'
import { NOTICES_KEPT_PER_AUDIENCE, type Notice, type NoticeListener, type Notices, type NoticeSubscription } from './notices.js'

/**
 * Notices inside one process (levels 1–2). Ids are `<process epoch>-<sequence>`: an id from an
 * earlier process (a client that reconnects after a restart) is a gap, not a position.
 */
export class MemoryNotices implements Notices {
  readonly #epoch = randomBytes(4).toString('hex')
  readonly #kept = new Map<string, Notice[]>()
  readonly #listeners = new Map<string, Set<NoticeListener>>()
  #sequence = 0
  #closed = false

  async publish (audience: string, type: string, data: JsonValue): Promise<{ id: string }> {
    if (this.#closed) throw new OutgrowError('OUTGROW_DEPENDENCY_UNAVAILABLE', 'notices closed', { dependency: 'notices' })
    checkNotice(audience, type, data)
    const notice: Notice = { id: `${this.#epoch}-${++this.#sequence}`, type, data }
    const kept = this.#kept.get(audience) ?? []
    kept.push(notice)
    if (kept.length > NOTICES_KEPT_PER_AUDIENCE) kept.shift()
    this.#kept.set(audience, kept)
    for (const listener of this.#listeners.get(audience) ?? []) listener.onNotice(notice)
    return { id: notice.id }
  }

  async subscribe (audience: string, after: string | undefined, listener: NoticeListener): Promise<NoticeSubscription> {
    checkNotice(audience)
    if (after !== undefined) {
      const [epoch, sequence] = after.split('-')
      const kept = this.#kept.get(audience) ?? []
      const position = epoch === this.#epoch ? Number(sequence) : -1
      const oldest = kept[0] === undefined ? Infinity : Number(kept[0].id.split('-')[1])
      // Missing if the position is unknown, or notices after it were trimmed.
      if (!Number.isSafeInteger(position) || position < 0 || position + 1 < oldest) listener.onGap?.()
      for (const notice of kept) if (position < 0 || Number(notice.id.split('-')[1]) > position) listener.onNotice(notice)
    }
    const set = this.#listeners.get(audience) ?? new Set()
    set.add(listener)
    this.#listeners.set(audience, set)
    return {
      close: () => {
        set.delete(listener)
        if (set.size === 0 && this.#listeners.get(audience) === set) this.#listeners.delete(audience)
      },
    }
  }

  async close (): Promise<void> {
    this.#closed = true
    this.#listeners.clear()
  }
}
