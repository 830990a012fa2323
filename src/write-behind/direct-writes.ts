import { writeBehindWrites } from '../runtime/metrics.js'
import type { Db, JsonValue } from '../runtime/ports.js'
import { checkAppend, type Appliers, type WriteBehindAdapter } from './write-behind.js'

/**
 * Levels 1–2 (no Redis): an append is applied at once, in its own transaction, and acknowledged
 * when that commits. Nothing is deferred, so nothing can be lost, and nothing is gained either:
 * the application is written once and gets the queue where the stack has one.
 */
export class DirectWrites implements WriteBehindAdapter {
  readonly #db: Db
  readonly #appliers: Appliers
  #sequence = 0

  constructor (db: Db, appliers: Appliers) {
    this.#db = db
    this.#appliers = appliers
  }

  async append (stream: string, key: string, payload: JsonValue): Promise<void> {
    const { applier, json } = checkAppend(this.#appliers, stream, key, payload)
    const id = `${Date.now()}-${this.#sequence++}`
    await this.#db.transaction(async (tx) => { await applier([{ id, key, payload: JSON.parse(json) as JsonValue }], tx) })
    writeBehindWrites.inc({ stream, outcome: 'applied' })
  }

  async process (): Promise<void> {}
  async close (): Promise<void> {}
}
