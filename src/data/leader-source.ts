import type { Dcs } from '../ha/dcs/port.js'

/** Called with the new leader's member name, or undefined when there is none. */
export type LeaderChangeListener = (leader: string | undefined) => void

/**
 * Where the db port learns which member of the cluster is the primary. The port only ever reads
 * `current()` and hears changes; it never decides anything.
 */
export interface LeaderSource {
  /**
   * The member that leads now, as far as this process knows; undefined while there is none (the
   * leader key vanished: a failover is under way) or before the first answer.
   */
  current(): string | undefined
  /** Calls `listener` after each change of `current()`. Returns unsubscribe. */
  watch(listener: LeaderChangeListener): () => void
  /** Stops following: watches and timers end. */
  close(): void
}

/** A base that keeps the current value and tells listeners when it changes. */
abstract class FollowedLeader implements LeaderSource {
  #leader: string | undefined
  readonly #listeners = new Set<LeaderChangeListener>()

  constructor (initial: string | undefined) { this.#leader = initial }

  current (): string | undefined { return this.#leader }

  watch (listener: LeaderChangeListener): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  protected set (leader: string | undefined): void {
    if (leader === this.#leader) return
    this.#leader = leader
    for (const listener of [...this.#listeners]) listener(leader)
  }

  close (): void { this.#listeners.clear() }
}

class StaticLeader extends FollowedLeader {}

/** A leader that never changes: the plain `primary` form, or `leader: { kind: 'static', name }`. */
export function staticLeaderSource (name: string): LeaderSource {
  return new StaticLeader(name)
}

export interface DcsLeaderOptions {
  /** After a failed read of the cluster, the next try comes this much later (ms). */
  readonly retryMs?: number
  /** The leader is also read every this many ms, in case a watch event was missed (0: never). */
  readonly resyncMs?: number
}

/**
 * Follows the leader key of the HA agents' store through the DCS port: one read of the cluster at
 * start (retried until the store answers), then the leader watch, plus a periodic read so that a
 * lost watch event cannot leave the port on a deposed leader for good.
 *
 * While the store cannot be reached, the last known leader stays current: a primary that loses the
 * store fences itself (docs/ha.md), and its refusals reach writers as OUTGROW_DB_FAILOVER.
 */
class DcsLeader extends FollowedLeader {
  readonly #dcs: Dcs
  readonly #retryMs: number
  readonly #resyncMs: number
  readonly #unwatch: () => void
  /** Watch events heard so far: a read of the cluster that raced one of them is older, and ignored. */
  #events = 0
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor (dcs: Dcs, options: DcsLeaderOptions) {
    super(undefined)
    this.#dcs = dcs
    this.#retryMs = options.retryMs ?? 1000
    this.#resyncMs = options.resyncMs ?? 10_000
    this.#unwatch = dcs.watchLeader((leader) => {
      this.#events++
      this.set(leader?.name)
    })
    this.#read()
  }

  #read (): void {
    const events = this.#events
    // Fire and forget: both outcomes are handled here and schedule the next read.
    void this.#dcs.getCluster().then((snapshot) => {
      if (this.#events === events) this.set(snapshot.leader?.name)
      this.#schedule(this.#resyncMs)
    }, () => { this.#schedule(this.#retryMs) })
  }

  #schedule (ms: number): void {
    if (this.#closed || ms <= 0) return
    this.#timer = setTimeout(() => { this.#read() }, ms)
    this.#timer.unref()
  }

  override close (): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#unwatch()
    super.close()
  }
}

/** The leader as the HA agents' store names it, read through any implementation of the DCS port. */
export function dcsLeaderSource (dcs: Dcs, options: DcsLeaderOptions = {}): LeaderSource {
  return new DcsLeader(dcs, options)
}
