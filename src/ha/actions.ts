/**
 * What one cycle of the agent may do, in order. The agent carries them out one after the other and
 * stops at the first `acquire` or `renew` that fails: nothing after it assumed the lease.
 */
import type { PostgresStatus } from './local.js'

export type HaAction =
  /** Keep the leader lease alive (updateLeader with this node's optime). */
  | { readonly kind: 'renew' }
  /** Create the leader key bound to a new lease, if absent and no term began since the snapshot (`termRevision`). */
  | { readonly kind: 'acquire', readonly termRevision: number | null }
  /** pg_promote(); the server stays fenced until `unfence`. Slow: runs asynchronously. */
  | { readonly kind: 'promote' }
  /** Make PostgreSQL read-only now. */
  | { readonly kind: 'fence' }
  /** Make PostgreSQL writable until the lease's safe end (last renewal + ttl - safety margin). */
  | { readonly kind: 'unfence' }
  /** A former primary becomes a replica of `leader`; pg_rewind first when `rewind`. Slow. */
  | { readonly kind: 'demote-to-replica', readonly leader: string, readonly rewind: boolean }
  /** Point a replica at the current leader. Slow. */
  | { readonly kind: 'follow', readonly leader: string }
  /** A replica whose WAL diverged from the leader's: pg_rewind, then follow. Slow. */
  | { readonly kind: 'rewind', readonly leader: string }
  /** Start a stopped server as it is on disk, fenced: with no leader, it must report its position. Slow. */
  | { readonly kind: 'start' }
  /** The sync key in the DCS (compare-and-set on `expectedRevision`) … */
  | { readonly kind: 'set-sync-standbys', readonly target: 'dcs', readonly standbys: readonly string[], readonly expectedRevision: number | null }
  /** … or synchronous_standby_names on this primary. */
  | { readonly kind: 'set-sync-standbys', readonly target: 'postgres', readonly standbys: readonly string[] }
  /** Delete the leader key (graceful switchover, or a leader whose PostgreSQL is gone). */
  | { readonly kind: 'release' }
  /** Delete a switchover request that is done or cannot be honoured. */
  | { readonly kind: 'clear-switchover', readonly expectedRevision: number }

export interface Decision {
  readonly actions: readonly HaAction[]
  /** One sentence saying what this node is and why it acts (or does not). */
  readonly message: string
  /** Run the next cycle this soon instead of after loopWaitMs (waiting for members to report). */
  readonly retryAfterMs?: number
}

/** What decide() knows about this node. */
export interface LocalState {
  readonly name: string
  /** null when PostgreSQL did not answer in time. */
  readonly postgres: PostgresStatus | null
  /** This node's clock when the last successful acquire or renew was sent; null if none. */
  readonly lastRenewalAt: number | null
  /** When (this node's clock) and at which store revision this node first saw no leader key; null while it sees one. */
  readonly noLeaderSince: { readonly at: number, readonly revision: number } | null
  /** Slow work (promote, follow, rewind) still running, described; null when idle. */
  readonly busy: string | null
}
