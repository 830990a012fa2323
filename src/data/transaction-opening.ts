import { OutgrowError } from '../errors/index.js'

/** The first trip of a transaction, as its first statement holds it. */
export interface FirstTrip {
  /** The trip failed: the transaction is over, whatever the caller does with the error. */
  fail(err: unknown): void
  /** The trip was answered, failed or not. */
  done(): void
}

/**
 * The opening of a transaction whose BEGIN may travel with its first statement. Until that trip is
 * answered nobody knows whether BEGIN ran: PostgreSQL parses the whole string before it runs any of
 * it, so a syntax error in the statement runs no BEGIN either. Statements sent meanwhile would run
 * outside any transaction and commit on their own. So later statements wait for the first trip, a
 * failed first trip fails them with its error, and the transaction does not commit.
 */
export class TransactionOpening {
  #claimed = false
  #failure: { readonly error: unknown } | undefined
  readonly #answered: Promise<void>
  #answer: () => void = () => {}

  constructor () {
    this.#answered = new Promise((resolve) => { this.#answer = resolve })
  }

  /** Whether BEGIN was sent, alone or with the first statement. */
  get begun (): boolean {
    return this.#claimed
  }

  /** The first statement gets the trip that opens the transaction; every later one undefined. */
  claim (): FirstTrip | undefined {
    if (this.#claimed) return undefined
    this.#claimed = true
    return {
      fail: (error) => { this.#failure ??= { error } },
      done: () => { this.#answer() },
    }
  }

  /** Resolves once the first trip was answered; rejects with its error when it failed. */
  async settled (): Promise<void> {
    await this.#answered
    if (this.#failure !== undefined) throw this.#failure.error
  }

  /** Throws when the first trip failed: its error may have been caught, but nothing may commit. */
  checkCommittable (): void {
    if (this.#failure === undefined) return
    throw new OutgrowError('OUTGROW_INTERNAL', 'the transaction\'s first statement failed (its error was caught), so nothing was written', undefined, { cause: this.#failure.error })
  }
}
