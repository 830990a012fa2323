/**
 * The DCS port: the only things the HA agent asks of its distributed configuration store (etcd in
 * production, MemoryDcs in tests and in the simulation). Narrow on purpose, like Patroni's
 * AbstractDCS: one leader key bound to a lease, one record per member bound to that member's lease,
 * a sync key and a switchover key written by compare-and-set on their revision, the leader's last
 * known WAL position, and a read of all of it as one immutable snapshot.
 *
 * Revisions are the store's global modification counter (etcd's mod_revision): every write gets a
 * higher one, so "written after revision R" is a total order across keys.
 *
 * Errors: a store that cannot be reached (or does not answer) rejects with
 * OutgrowError('OUTGROW_DCS_UNAVAILABLE'). A compare-and-set that loses resolves `false`.
 */

/** A WAL position (LSN) as a byte offset; 2^53 bytes of WAL fit exactly in a number. */
export type Lsn = number

export type MemberRole = 'primary' | 'replica' | 'stopped'

/** What a member reports about itself each cycle (`touchMember`). */
export interface MemberStatus {
  readonly role: MemberRole
  /** Primary: its current WAL position; replica: the highest WAL position it has received and flushed. */
  readonly lsn: Lsn
  /** PostgreSQL timeline; 0 when unknown (e.g. PostgreSQL is not running). */
  readonly timeline: number
  /** PostgreSQL answers and (for a replica) streams without error. */
  readonly healthy: boolean
  /** This replica is one of its primary's synchronous standbys right now. */
  readonly sync: boolean
  /** The member a replica streams from; null for a primary or a replica that follows nobody yet. */
  readonly following: string | null
}

export interface MemberRecord extends MemberStatus {
  readonly name: string
  /** Revision of the last touch. */
  readonly revision: number
}

export interface LeaderRecord {
  readonly name: string
  /** Revision at which the key was created (a new leadership term) … */
  readonly createRevision: number
  /** … and last modified. */
  readonly revision: number
  /** When the lease expires, on the store's clock. Informative only: never compared with a node's clock. */
  readonly leaseExpiresAt: number
}

/** Members allowed to acknowledge commits for `leader` (Patroni's /sync key). */
export interface SyncState {
  readonly leader: string | null
  readonly standbys: readonly string[]
  /** null when the key does not exist. */
  readonly revision: number | null
}

/** A switchover (`from` = the current leader) or a manual failover (`from` null) request. */
export interface SwitchoverRequest {
  readonly from: string | null
  readonly to: string
}

export interface SwitchoverRecord extends SwitchoverRequest {
  readonly revision: number
}

/** The leader's last reported WAL position and timeline (Patroni's /optime/leader); outlives the leader key. */
export interface Optime {
  readonly lsn: Lsn
  readonly timeline: number
}

/** One consistent read of the cluster's keys. Never mutated: the agent decides from one snapshot per cycle. */
export interface ClusterSnapshot {
  /** The store's revision at the time of the read. */
  readonly revision: number
  readonly leader: LeaderRecord | null
  /**
   * Revision at which the current or the last leader key was created; null if there never was one.
   * It outlives the key (etcd: a key without lease put in the acquiring transaction), so a member
   * that saw no leader earlier can tell that a leadership term began — and maybe ended — since.
   */
  readonly termRevision: number | null
  /** Members whose lease is alive, sorted by name. */
  readonly members: readonly MemberRecord[]
  readonly sync: SyncState
  readonly switchover: SwitchoverRecord | null
  readonly optime: Optime | null
  /** Dynamic configuration stored with the cluster (written out of band), or null. */
  readonly config: Readonly<Record<string, unknown>> | null
}

export type LeaderListener = (leader: LeaderRecord | null) => void

export interface Dcs {
  /** Reads every key of the cluster at one revision. */
  getCluster (): Promise<ClusterSnapshot>

  /**
   * Creates the leader key naming `member`, bound to a fresh lease of `ttlMs`, only if no leader key
   * exists and the term revision is still `termRevision` — the one in the snapshot the caller
   * decided from, so that a term that began and ended meanwhile voids the decision (etcd: one
   * transaction comparing the leader key's create_revision = 0 and the term key's mod_revision,
   * putting both). True when this call created it.
   */
  attemptToAcquireLeader (member: string, ttlMs: number, termRevision: number | null): Promise<boolean>

  /**
   * Keeps the leader lease alive and confirms the key still names `member` (a transaction comparing
   * the key's value); records `optime` when given. False when the key is gone or names someone else:
   * the caller has lost the leadership and must not write.
   */
  updateLeader (member: string, optime?: Optime): Promise<boolean>

  /** Graceful release: deletes the leader key only if it names `member`; records the final `optime`. */
  deleteLeader (member: string, optime?: Optime): Promise<boolean>

  /** Writes `member`'s record, bound to the member's own lease (created or kept alive here, `ttlMs`). */
  touchMember (member: string, status: MemberStatus, ttlMs: number): Promise<void>

  /** Compare-and-set of the sync key: `expectedRevision` null means "only if absent". */
  setSyncState (value: { leader: string, standbys: readonly string[] }, expectedRevision: number | null): Promise<boolean>

  /** Compare-and-set of the switchover key; `value` null deletes it. */
  setSwitchover (value: SwitchoverRequest | null, expectedRevision: number | null): Promise<boolean>

  /** Calls `listener` on every change of the leader key (created, changed owner, deleted, expired). Returns unsubscribe. */
  watchLeader (listener: LeaderListener): () => void
}

export function memberNamed (snapshot: ClusterSnapshot, name: string): MemberRecord | undefined {
  return snapshot.members.find((m) => m.name === name)
}
