import type pg from 'pg'
import { parseLsn } from './lsn.js'

/**
 * Knows how far one replica has replayed the primary's WAL, by polling
 * pg_last_wal_replay_lsn(). Reads that must see a write check here instead of asking the
 * replica per request, so read-your-writes costs no extra round trip.
 */
export class ReplicaTracker {
  readonly #pool: pg.Pool
  readonly #intervalMs: number
  #replayed = -1n
  #healthy = false
  #timer: NodeJS.Timeout | undefined
  #polling = false

  constructor (pool: pg.Pool, intervalMs: number) {
    this.#pool = pool
    this.#intervalMs = intervalMs
  }

  start (): void {
    // Fire and forget: poll() never rejects; a failed poll marks the replica unhealthy.
    this.#timer = setInterval(() => { void this.poll() }, this.#intervalMs)
    this.#timer.unref()
    void this.poll()
  }

  async poll (): Promise<void> {
    if (this.#polling) return
    this.#polling = true
    try {
      const result = await this.#pool.query<{ lsn: string | null }>('SELECT pg_last_wal_replay_lsn()::text AS lsn')
      const lsn = result.rows[0]?.lsn
      if (lsn != null) this.#replayed = parseLsn(lsn)
      this.#healthy = true
    } catch {
      this.#healthy = false
    } finally {
      this.#polling = false
    }
  }

  get healthy (): boolean { return this.#healthy }

  hasReplayed (position: bigint): boolean {
    return this.#healthy && this.#replayed >= position
  }

  stop (): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
  }
}
