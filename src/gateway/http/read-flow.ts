import type { Socket } from 'node:net'
import { consumeSocket, setReading, type NativeParser, type ParseError } from './native-parser.js'

/** Why a connection stopped reading: a slow body consumer, or a full queue of pipelined requests. */
export type PauseReason = 'body' | 'pipeline'

/**
 * The reading side of a client connection: whether the parser reads the socket itself, whether
 * reading is paused and why, and the bytes read but not yet parsed while parsing is paused.
 */
export class ReadFlow {
  readonly #socket: Socket
  readonly #parser: NativeParser
  /** The parser reads the socket itself (see consumeSocket). */
  #consumed: boolean
  readonly #paused = new Set<PauseReason>()
  #reading = true
  #leftover: Buffer | undefined

  constructor (socket: Socket, parser: NativeParser) {
    this.#socket = socket
    this.#parser = parser
    this.#consumed = consumeSocket(parser, socket)
  }

  get consumed (): boolean { return this.#consumed }

  /** The parser no longer reads the socket: later bytes arrive as 'data' events. */
  unconsume (): void {
    if (!this.#consumed) return
    this.#consumed = false
    this.#parser.unconsume()
  }

  pausedFor (reason: PauseReason): boolean { return this.#paused.has(reason) }

  pause (reason: PauseReason): void {
    this.#paused.add(reason)
    this.#apply()
  }

  resume (reason: PauseReason): void {
    this.#paused.delete(reason)
    this.#apply()
  }

  /** Bytes read but not parsed (the parser paused midway), kept in order for later. */
  keep (rest: Buffer): void {
    this.#leftover = this.#leftover === undefined ? rest : Buffer.concat([this.#leftover, rest])
  }

  /**
   * Resumes a parser the pipeline limit paused and parses the bytes kept meanwhile (handing the
   * result to `afterExecute`); reading resumes unless they filled the queue again.
   */
  resumeParsing (afterExecute: (result: number | ParseError, bytes: Buffer) => void): void {
    this.#parser.resume()
    const leftover = this.#leftover
    this.#leftover = undefined
    let pausedAgain = false
    if (leftover !== undefined && leftover.length > 0) {
      const result = this.#parser.execute(leftover)
      pausedAgain = typeof result !== 'number' && (result as ParseError).code === 'HPE_PAUSED'
      afterExecute(result, leftover)
    }
    if (!pausedAgain) this.resume('pipeline')
  }

  /** The connection is ending: read on (to drop what comes) whatever paused it. */
  releaseAll (): void {
    this.#leftover = undefined
    this.#paused.clear()
    this.#apply()
  }

  /** The socket leaves the parser for a tunnel: its stream must be able to read again. */
  handOver (): void {
    this.unconsume()
    if (!this.#reading) setReading(this.#socket, true, true)
  }

  #apply (): void {
    const reading = this.#paused.size === 0
    if (reading === this.#reading) return
    this.#reading = reading
    setReading(this.#socket, this.#consumed, reading)
  }
}
