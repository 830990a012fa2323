import { OutgrowError } from '../errors/index.js'
import { isPgConnectionError } from '../runtime/connection-errors.js'

/** SQLSTATE read_only_sql_transaction: a fenced primary, or a replica not promoted yet. */
const READ_ONLY = '25006'

/** How long after a leader change connection and read-only failures still count as the failover's. */
export const DEFAULT_FAILOVER_WINDOW_MS = 5000

/** A leadership term as this process saw it: the member writes went to, from its adoption on. */
export interface LeaderTerm {
  readonly epoch: number
  readonly leader: string | undefined
  /** When this process adopted the leader (its clock, ms); undefined for the first term it saw. */
  readonly changedAt: number | undefined
}

export interface LeaderTermsOptions {
  readonly now: () => number
  readonly windowMs: number
  /**
   * A read-only refusal from the leader is a failover under way (the HA agent fences a primary
   * before its lease can expire, and a new leader is read-only until promoted). True in the
   * members form; in the plain form a read-only primary stays an error of its own.
   */
  readonly readOnlyMeansFailover: boolean
}

/** The failover's refusal: retryable, with a short Retry-After. */
export function failoverError (why: string, cause?: unknown, leader?: string): OutgrowError {
  return new OutgrowError('OUTGROW_DB_FAILOVER', `database failover: ${why}`,
    { dependency: 'primary', ...(leader === undefined ? {} : { leader }), retryAfterSeconds: 1 },
    cause === undefined ? undefined : { cause })
}

/** A failure that a leader change explains: the server went away, or refuses writes. */
function failoverKind (err: unknown): 'read-only' | 'connection' | undefined {
  if ((err as { code?: unknown } | null)?.code === READ_ONLY) return 'read-only'
  return isPgConnectionError(err) ? 'connection' : undefined
}

/**
 * The succession of leaders the db port has written to. Work on the primary is bound to the term it
 * started in: when the leader changes, that work fails at once with OUTGROW_DB_FAILOVER instead of
 * waiting on a server that is no longer the primary (a frozen one answers nothing until the
 * statement timeout). Its outcome is unknown, as for any broken connection.
 */
export class LeaderTerms {
  readonly #options: LeaderTermsOptions
  #current: LeaderTerm
  #onEnd = new Set<(next: LeaderTerm) => void>()

  constructor (leader: string | undefined, options: LeaderTermsOptions) {
    this.#options = options
    this.#current = { epoch: 0, leader, changedAt: undefined }
  }

  get current (): LeaderTerm { return this.#current }

  /** Adopts a new leader (undefined: none); work bound to the term that ends is rejected now. */
  change (leader: string | undefined): void {
    if (leader === this.#current.leader) return
    const next: LeaderTerm = { epoch: this.#current.epoch + 1, leader, changedAt: this.#options.now() }
    const ending = this.#onEnd
    this.#current = next
    this.#onEnd = new Set()
    for (const listener of ending) listener(next)
  }

  /** `work`'s outcome, unless `term` ends first: then OUTGROW_DB_FAILOVER at once. */
  async bound<T> (term: LeaderTerm, work: Promise<T>): Promise<T> {
    if (term.epoch !== this.#current.epoch) {
      // Abandoned: its failure, if any, is the failover's, reported below.
      void work.catch(() => {})
      throw this.#changed(term, this.#current)
    }
    return await new Promise<T>((resolve, reject) => {
      const onEnd = (next: LeaderTerm): void => { reject(this.#changed(term, next)) }
      this.#onEnd.add(onEnd)
      // Both outcomes are handled: the returned promise cannot reject.
      void work.finally(() => { this.#onEnd.delete(onEnd) }).then(resolve, reject)
    })
  }

  /**
   * OUTGROW_DB_FAILOVER for a failure of work bound to `term` if a failover explains it: the leader
   * changed since, there is none, it changed within the window, or (members form) it refuses
   * writes. Undefined otherwise: the failure is the primary's own.
   */
  explain (term: LeaderTerm, err: unknown): OutgrowError | undefined {
    const kind = failoverKind(err)
    if (kind === undefined) return undefined
    const now = this.#current
    if (now.epoch !== term.epoch) return this.#changed(term, now, err)
    const leader = now.leader
    if (leader === undefined) return failoverError('no leader: a failover is under way', err)
    const sinceMs = now.changedAt === undefined ? Infinity : this.#options.now() - now.changedAt
    if (sinceMs < this.#options.windowMs) return failoverError(`${leader} became the leader ${Math.round(sinceMs)} ms ago and ${describe(kind)}`, err, leader)
    if (kind === 'read-only' && this.#options.readOnlyMeansFailover) return failoverError(`the leader ${leader} refuses writes (fenced, or not promoted yet)`, err, leader)
    return undefined
  }

  #changed (term: LeaderTerm, next: LeaderTerm, cause?: unknown): OutgrowError {
    const old = term.leader ?? 'none'
    const what = next.leader === undefined ? `the leader ${old} lost its key` : `the leader changed from ${old} to ${next.leader}`
    return failoverError(`${what} while this ran on ${old}; its outcome is unknown`, cause, next.leader)
  }
}

function describe (kind: 'read-only' | 'connection'): string {
  return kind === 'read-only' ? 'is not writable yet' : 'could not be reached'
}
