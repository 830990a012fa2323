import { closeSync, openSync, writeSync } from 'node:fs'
import type { Ack } from './verdict.js'

/**
 * The client's record of every acknowledged order, kept in memory for the verdict and, when a
 * file is given, appended to it as JSON lines at once (key, order id, times in ms since the run
 * began, and the wall-clock time), so it outlives a crash of the checker.
 */
export class AckLog {
  readonly acks: Ack[] = []
  readonly #fd: number | undefined
  readonly #startedAt: () => number

  /** startedAt: the wall-clock time (ms since the epoch) the run's clock started from. */
  constructor (file: string | undefined, startedAt: () => number) {
    this.#fd = file === undefined ? undefined : openSync(file, 'a')
    this.#startedAt = startedAt
  }

  add (ack: Ack): void {
    this.acks.push(ack)
    if (this.#fd !== undefined) {
      writeSync(this.#fd, JSON.stringify({ ...ack, time: new Date(this.#startedAt() + ack.ackedAt).toISOString() }) + '\n')
    }
  }

  close (): void {
    if (this.#fd !== undefined) closeSync(this.#fd)
  }
}
