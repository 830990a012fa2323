import { randomBytes } from 'node:crypto'
import type { Session } from '../runtime/ports.js'
import type { SessionStore, WriteOptions } from './store.js'

export function newSessionId (): string {
  return randomBytes(24).toString('base64url')
}

/**
 * The session of one request. It has no id until something is written; `onIdChange` tells the
 * HTTP layer to (re)issue the cookie.
 *
 * The id from the cookie is only ever used for a session the store has: writes to it never create
 * it. When it is missing — never issued (a fixation attempt), expired, or destroyed or renamed by
 * a concurrent request — the write goes to a fresh id instead.
 */
export class RequestSession implements Session {
  #id: string | undefined
  /** The id was issued by this server during this request, so writes may create its session. */
  #issuedHere = false
  readonly #store: SessionStore
  readonly #onIdChange: (id: string | undefined) => void

  constructor (store: SessionStore, id: string | undefined, onIdChange: (id: string | undefined) => void) {
    this.#store = store
    this.#id = id
    this.#onIdChange = onIdChange
  }

  get id (): string | undefined { return this.#id }

  #issue (): string {
    const id = newSessionId()
    this.#id = id
    this.#issuedHere = true
    this.#onIdChange(id)
    return id
  }

  /** Runs a write on the current session, or on a fresh one when the current one does not exist. */
  async #write<T> (write: (id: string, options: WriteOptions) => Promise<T | undefined>): Promise<T> {
    const tried = this.#id
    if (tried !== undefined) {
      const result = await write(tried, { create: this.#issuedHere })
      if (result !== undefined) return result
    }
    // Another write of this request may have started a fresh session meanwhile: use that one.
    const id = this.#id !== tried && this.#id !== undefined ? this.#id : this.#issue()
    const result = await write(id, { create: true })
    if (result === undefined) throw new Error('the session store did not create a session')
    return result
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
    const json = JSON.stringify(value)
    await this.#write(async (id, options) => await this.#store.setField(id, field, json, options) ? true : undefined)
  }

  async increment (field: string, by: number): Promise<number> {
    return await this.#write(async (id, options) => await this.#store.incrementField(id, field, by, options))
  }

  async max (field: string, value: string): Promise<string> {
    const json = JSON.stringify(value)
    return JSON.parse(await this.#write(async (id, options) => await this.#store.maxField(id, field, json, options))) as string
  }

  async delete (...fields: string[]): Promise<void> {
    if (this.#id !== undefined) await this.#store.deleteFields(this.#id, fields)
  }

  async regenerate (): Promise<void> {
    const next = newSessionId()
    if (this.#id !== undefined) await this.#store.rename(this.#id, next)
    this.#id = next
    this.#issuedHere = true
    this.#onIdChange(next)
  }

  async destroy (): Promise<void> {
    if (this.#id !== undefined) await this.#store.destroy(this.#id)
    this.#id = undefined
    this.#issuedHere = false
    this.#onIdChange(undefined)
  }
}
