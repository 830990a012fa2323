import type { SessionStore, WriteOptions } from './store.js'

interface Entry { fields: Map<string, string>, expiresAt: number }

/** In-process sessions: the single-server default. Lost on restart, like the process. */
export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, Entry>()
  readonly #ttlMs: number
  readonly #sweeper: NodeJS.Timeout

  constructor (ttlSeconds: number) {
    this.#ttlMs = ttlSeconds * 1000
    this.#sweeper = setInterval(() => { this.#sweep() }, 60_000)
    this.#sweeper.unref()
  }

  #live (id: string): Entry | undefined {
    const entry = this.#sessions.get(id)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= Date.now()) {
      this.#sessions.delete(id)
      return undefined
    }
    return entry
  }

  /** The entry to write to, its TTL refreshed; undefined when it does not exist and may not be created. */
  #touch (id: string, options: WriteOptions | undefined): Entry | undefined {
    let entry = this.#live(id)
    if (entry === undefined) {
      if (options?.create !== true) return undefined
      this.#sessions.set(id, entry = { fields: new Map(), expiresAt: 0 })
    }
    entry.expiresAt = Date.now() + this.#ttlMs
    return entry
  }

  async getField (id: string, field: string): Promise<string | undefined> {
    return this.#live(id)?.fields.get(field)
  }

  async getAll (id: string): Promise<Record<string, string>> {
    return Object.fromEntries(this.#live(id)?.fields ?? [])
  }

  async setField (id: string, field: string, value: string, options?: WriteOptions): Promise<boolean> {
    const entry = this.#touch(id, options)
    entry?.fields.set(field, value)
    return entry !== undefined
  }

  async incrementField (id: string, field: string, by: number, options?: WriteOptions): Promise<number | undefined> {
    const entry = this.#touch(id, options)
    if (entry === undefined) return undefined
    const current = Number.parseInt(entry.fields.get(field) ?? '0', 10)
    const next = (Number.isNaN(current) ? 0 : current) + by
    entry.fields.set(field, String(next))
    return next
  }

  async maxField (id: string, field: string, value: string, options?: WriteOptions): Promise<string | undefined> {
    const entry = this.#touch(id, options)
    if (entry === undefined) return undefined
    const current = entry.fields.get(field)
    // UTF-16 order, which is byte order for the ASCII values this is meant for.
    if (current === undefined || current < value) entry.fields.set(field, value)
    return entry.fields.get(field)
  }

  async deleteFields (id: string, fields: string[]): Promise<void> {
    const entry = this.#live(id)
    for (const field of fields) entry?.fields.delete(field)
    // Like a Redis hash, a session without fields stops existing.
    if (entry?.fields.size === 0) this.#sessions.delete(id)
  }

  async rename (oldId: string, newId: string): Promise<void> {
    const entry = this.#live(oldId)
    this.#sessions.delete(oldId)
    if (entry !== undefined) this.#sessions.set(newId, entry)
  }

  async destroy (id: string): Promise<void> {
    this.#sessions.delete(id)
  }

  #sweep (): void {
    const now = Date.now()
    for (const [id, entry] of this.#sessions) if (entry.expiresAt <= now) this.#sessions.delete(id)
  }

  async close (): Promise<void> {
    clearInterval(this.#sweeper)
    this.#sessions.clear()
  }
}
