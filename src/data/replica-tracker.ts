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

/**
 * Knows how far one server has replayed the primary's WAL, on which timeline, and whether it is a
 * replica at all, by polling. Reads that must see a write check here instead of asking the server
 * per request, so read-your-writes costs no extra round trip.
 */
export class ReplicaTracker {
  readonly #pool: SqlQueryable
  readonly #intervalMs: number
  #replayed = -1n
  #timeline = 0
  #inRecovery = false
  #healthy = false
  #timer: NodeJS.Timeout | undefined
  #polling: Promise<void> | undefined

  constructor (pool: SqlQueryable, intervalMs: number) {
    this.#pool = pool
    this.#intervalMs = intervalMs
  }

  start (): void {
    // Fire and forget: poll() never rejects; a failed poll marks the server unhealthy.
    this.#timer = setInterval(() => { void this.poll() }, this.#intervalMs)
    this.#timer.unref()
    void this.poll()
  }

  /** Polls now (or joins the poll under way). Never rejects. */
  async poll (): Promise<void> {
    this.#polling ??= this.#pollOnce().finally(() => { this.#polling = undefined })
    await this.#polling
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
    if (this.#timer !== undefined) clearInterval(this.#timer)
  }
}
