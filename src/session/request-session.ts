import { randomBytes } from 'node:crypto'
import type { Session } from '../runtime/ports.js'
import type { SessionStore } from './store.js'

export function newSessionId (): string {
  return randomBytes(24).toString('base64url')
}

/**
 * The session of one request. It has no id until something is written; `onIdChange` tells the
 * HTTP layer to (re)issue the cookie.
 */
export class RequestSession implements Session {
  #id: string | undefined
  readonly #store: SessionStore
  readonly #onIdChange: (id: string | undefined) => void

  constructor (store: SessionStore, id: string | undefined, onIdChange: (id: string | undefined) => void) {
    this.#store = store
    this.#id = id
    this.#onIdChange = onIdChange
  }

  get id (): string | undefined { return this.#id }

  #ensureId (): string {
    if (this.#id === undefined) {
      this.#id = newSessionId()
      this.#onIdChange(this.#id)
    }
    return this.#id
  }

  async get<T>(field: string): Promise<T | undefined> {
    if (this.#id === undefined) return undefined
    const raw = await this.#store.getField(this.#id, field)
    return raw === undefined ? undefined : JSON.parse(raw) as T
  }

  async getAll (): Promise<Record<string, unknown>> {
    if (this.#id === undefined) return {}
    const raw = await this.#store.getAll(this.#id)
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, JSON.parse(v) as unknown]))
  }

  async set (field: string, value: unknown): Promise<void> {
    await this.#store.setField(this.#ensureId(), field, JSON.stringify(value))
  }

  async increment (field: string, by: number): Promise<number> {
    return await this.#store.incrementField(this.#ensureId(), field, by)
  }

  async max (field: string, value: string): Promise<string> {
    return JSON.parse(await this.#store.maxField(this.#ensureId(), field, JSON.stringify(value))) as string
  }

  async delete (...fields: string[]): Promise<void> {
    if (this.#id !== undefined) await this.#store.deleteFields(this.#id, fields)
  }

  async regenerate (): Promise<void> {
    const next = newSessionId()
    if (this.#id !== undefined) await this.#store.rename(this.#id, next)
    this.#id = next
    this.#onIdChange(next)
  }

  async destroy (): Promise<void> {
    if (this.#id !== undefined) await this.#store.destroy(this.#id)
    this.#id = undefined
    this.#onIdChange(undefined)
  }
}
