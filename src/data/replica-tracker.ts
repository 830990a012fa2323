import { parseLsn } from './lsn.js'
import type { SqlQueryable } from './sql-pool.js'

/**
 * One round trip tells whether the server is in recovery, how far it has replayed (a primary: its
 * current WAL position) and its timeline. A replica's timeline is the one it last received WAL on
 * (pg_stat_wal_receiver.received_tli: visible to superusers and members of pg_read_all_stats);
 * when that is hidden or no WAL receiver runs, the timeline of its last restartpoint, which is never
 * ahead of the real one. A primary's timeline is in the name of its current WAL file.
 */
export const TRACKER_POLL_SQL = `SELECT r AS recovery,
  (CASE WHEN r THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn,
  CASE WHEN r THEN coalesce((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint()))
    ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS timeline
  FROM pg_is_in_recovery() AS r`

interface PollRow { recovery: boolean, lsn: string | null, timeline: number | null }

export interface TrackerIntervals {
  /** Between polls while a read waits to see a position this server has not shown it replayed. */
  readonly fastMs: number
  /** Between polls otherwise: role, health and timeline only. */
  readonly idleMs: number
}

/**
 * Knows how far one server has replayed the primary's WAL, on which timeline, and whether it is a
 * replica at all, by polling. Reads that must see a write check here instead of asking the server
 * per request, so read-your-writes costs no extra round trip.
 *
 * It polls fast only while it is wanted: a read that had to skip this server because it had not
 * shown a position yet (`want`) switches it to `fastMs` until the position is seen; otherwise it
 * polls every `idleMs`. Polling every process's trackers at the fast rate all the time costs each
 * database server a query per tracker every few milliseconds even when nothing is written.
 */
export class ReplicaTracker {
  readonly #pool: SqlQueryable
  readonly #intervals: TrackerIntervals
  #replayed = -1n
  #wanted = -1n
  #wantedTimeline = 0
  #timeline = 0
  #inRecovery = false
  #healthy = false
  #timer: NodeJS.Timeout | undefined
  #nextPollAt = Infinity
  #lastPollAt = 0
  #stopped = true
  #polling: Promise<void> | undefined

  constructor (pool: SqlQueryable, intervals: number | TrackerIntervals) {
    this.#pool = pool
    this.#intervals = typeof intervals === 'number' ? { fastMs: intervals, idleMs: intervals } : intervals
  }

  start (): void {
    this.#stopped = false
    void this.poll()
  }

  /** Polls now (or joins the poll under way). Never rejects; a failed poll marks the server unhealthy. */
  async poll (): Promise<void> {
    this.#polling ??= this.#pollOnce().finally(() => {
      this.#polling = undefined
      this.#lastPollAt = Date.now()
      this.#schedule()
    })
    await this.#polling
  }

  /** A read needs this server to have replayed `position` on `timeline`: poll fast until it has. */
  want (position: bigint, timeline: number): void {
    if (position > this.#wanted) this.#wanted = position
    if (timeline > this.#wantedTimeline) this.#wantedTimeline = timeline
    if (this.#polling === undefined) this.#schedule()
  }

  get #behind (): boolean {
    return this.#wanted > this.#replayed || this.#wantedTimeline > this.#timeline
  }

  #schedule (): void {
    if (this.#stopped) return
    const at = this.#lastPollAt + (this.#behind ? this.#intervals.fastMs : this.#intervals.idleMs)
    // An earlier poll already planned stays; a later one is replaced (idle → fast).
    if (this.#timer !== undefined && this.#nextPollAt <= at) return
    clearTimeout(this.#timer)
    this.#nextPollAt = at
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#nextPollAt = Infinity
      void this.poll()
    }, Math.max(0, at - Date.now()))
    this.#timer.unref()
  }

  async #pollOnce (): Promise<void> {
    try {
      const row = (await this.#pool.query<PollRow>(TRACKER_POLL_SQL)).rows[0]
      if (row === undefined) throw new Error('no row')
      if (row.lsn != null) this.#replayed = parseLsn(row.lsn)
      // A server's timeline only grows (promotion, or rewinding onto a newer one); the fallback
      // for a hidden received_tli lags, so it never lowers what was seen.
      if (row.timeline != null && row.timeline > this.#timeline) this.#timeline = row.timeline
      this.#inRecovery = row.recovery
      this.#healthy = true
    } catch {
      this.#healthy = false
    }
  }

  get healthy (): boolean { return this.#healthy }

  /** The server is a replica (pg_is_in_recovery()), as of the last successful poll. */
  get inRecovery (): boolean { return this.#healthy && this.#inRecovery }

  /** The highest timeline the server has reported; 0 before it answered. */
  get timeline (): number { return this.#timeline }

  hasReplayed (position: bigint): boolean {
    return this.#healthy && this.#replayed >= position
  }

  stop (): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
