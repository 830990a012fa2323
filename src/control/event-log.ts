import { appendFile } from 'node:fs/promises'

/** One line of the event log: who changed what, and how it went. */
export interface StackEvent {
  readonly seq: number
  readonly time: string
  /** `cli`, `api`, `reconciler`, `autoscaler`, `supervisor`, … */
  readonly actor: string
  /** e.g. `scale`, `apply`, `start`, `stop`, `restart`, `replace`, `exited`, `down`. */
  readonly action: string
  readonly target?: string | undefined
  readonly result: 'ok' | 'failed' | 'requested' | 'refused' | 'observed'
  readonly detail?: string | undefined
}

export type StackEventInput = Omit<StackEvent, 'seq' | 'time'>

/**
 * Every change to a running stack, appended as JSON lines (`events.jsonl` in the data dir) and
 * kept in memory for the control API. Writes are chained so lines never interleave.
 */
export class EventLog {
  readonly #file: string | undefined
  readonly #recent: StackEvent[] = []
  readonly #limit: number
  readonly #listeners = new Set<(event: StackEvent) => void>()
  #seq = 0
  #writing: Promise<void> = Promise.resolve()

  constructor (file: string | undefined, limit = 5000) {
    this.#file = file
    this.#limit = limit
  }

  append (input: StackEventInput, now = Date.now()): StackEvent {
    const event: StackEvent = { seq: ++this.#seq, time: new Date(now).toISOString(), ...input }
    this.#recent.push(event)
    if (this.#recent.length > this.#limit) this.#recent.splice(0, this.#recent.length - this.#limit)
    const file = this.#file
    if (file !== undefined) this.#writing = this.#writing.then(async () => { await appendFile(file, `${JSON.stringify(event)}\n`) }).catch(() => {})
    for (const listener of this.#listeners) listener(event)
    return event
  }

  /** Events after `seq` (all kept ones when 0). */
  since (seq = 0): StackEvent[] {
    return this.#recent.filter((e) => e.seq > seq)
  }

  subscribe (listener: (event: StackEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  async flush (): Promise<void> {
    await this.#writing
  }
}
