/**
 * This node's PostgreSQL as the agent sees and drives it. The agent never talks to PostgreSQL
 * directly: an engine adapter implements LocalPostgres (SQL, pg_ctl, pg_rewind), the simulator
 * implements it in memory.
 *
 * Fencing is a deadline, not a flag the agent must remember to set: `unfence(until)` makes
 * PostgreSQL writable only until `until` on this node's clock, and `keepWritable(until)` moves
 * that deadline after each successful lease renewal. Whatever enforces the deadline (a fence
 * keeper outside the agent's process, see docs/ha.md) makes PostgreSQL read-only when it passes,
 * even if the agent is frozen. A PostgreSQL that (re)starts is read-only until unfenced.
 */
import type { Lsn } from './dcs/port.js'

export interface PostgresStatus {
  /** The postmaster runs and answers. */
  readonly running: boolean
  /**
   * Not running as far as anyone can tell, but not known dead either: the postmaster runs and the
   * status query did not answer in time (a loaded or frozen server). Absent: false.
   */
  readonly unresponsive?: boolean
  /** Out of recovery (primary) or in recovery (replica); a stopped server keeps its last role. */
  readonly role: 'primary' | 'replica'
  /** Accepts writes right now: a primary, unfenced, its deadline not passed. */
  readonly writable: boolean
  /** Primary: current WAL position; replica: highest received and flushed position. */
  readonly lsn: Lsn
  readonly timeline: number
  /** Replica: the member it streams from (primary_conninfo), or null. */
  readonly following: string | null
  /** Replica: its WAL has diverged from the one it follows (needs pg_rewind). */
  readonly diverged: boolean
  /** Primary: synchronous_standby_names as configured now (ANY 1 of these). */
  readonly syncStandbys: readonly string[]
  /**
   * Primary: synchronous replication is off (`synchronous_standby_names` empty): commits are
   * acknowledged on the primary alone. False while it names a standby or the reserved name that
   * never connects (commits wait). Absent: unknown, taken as false.
   */
  readonly syncOff?: boolean
  /** Primary: WAL position when synchronous_standby_names last changed. */
  readonly syncChangedAtLsn: Lsn
  /** Primary: WAL position where its timeline began (the promotion's switch point; 0 if it never was promoted). */
  readonly timelineStartLsn: Lsn
}

export interface LocalPostgres {
  status (): Promise<PostgresStatus>
  /** pg_promote(); the server stays read-only until unfenced. Slow: the agent runs it asynchronously. */
  promote (): Promise<void>
  /** Read-only now: default_transaction_read_only = on, reload, terminate sessions that may write. */
  fence (): Promise<void>
  /** Writable until `until` (this node's clock); refused (stays read-only) if `until` has passed. */
  unfence (until: number): Promise<void>
  /** Moves the writable deadline of an unfenced server to `until`; does nothing to a fenced one. */
  keepWritable (until: number): Promise<void>
  /** Restart as a replica of `leader` (primary_conninfo, primary_slot_name); stays read-only. Slow. */
  follow (leader: string): Promise<void>
  /** pg_rewind against `leader`, then follow it. Slow. */
  rewind (leader: string): Promise<void>
  /** Start a stopped server as it is on disk (its role kept), read-only until unfenced. Slow. */
  start (): Promise<void>
  /**
   * synchronous_standby_names = ANY 1 (names), reload. Empty means commits wait for a standby that
   * never connects (ANY 1 of a reserved name), not "no synchronous replication": an acknowledged
   * commit is always on a member of the sync key.
   */
  setSyncStandbys (names: readonly string[]): Promise<void>
}
