/**
 * Snapshot builders for HA tests, in the manner of Patroni's get_cluster_initialized_with_leader:
 * a three-member cluster a (leader), b, c by default, every field overridable.
 */
import type { LocalState } from '../../src/ha/actions.js'
import type { ClusterSnapshot, MemberRecord, SyncState } from '../../src/ha/dcs/port.js'
import type { PostgresStatus } from '../../src/ha/local.js'

export const NOW = 100_000

export function member (name: string, fields: Partial<MemberRecord> = {}): MemberRecord {
  return { name, role: 'replica', lsn: 1000, timeline: 1, healthy: true, sync: false, following: 'a', revision: 50, ...fields }
}

export function primaryRecord (name: string, fields: Partial<MemberRecord> = {}): MemberRecord {
  return member(name, { role: 'primary', following: null, ...fields })
}

export interface ClusterFields {
  readonly leader?: string | null
  readonly members?: readonly MemberRecord[]
  readonly sync?: Partial<SyncState>
  readonly switchover?: ClusterSnapshot['switchover']
  readonly optime?: ClusterSnapshot['optime']
  readonly revision?: number
  readonly termRevision?: number
}

/** a holds the key; a primary, b and c replicas following it; sync key { leader a, standbys b, c }. */
export function clusterWithLeader (fields: ClusterFields = {}): ClusterSnapshot {
  const leader = fields.leader === undefined ? 'a' : fields.leader
  return {
    revision: fields.revision ?? 100,
    leader: leader === null ? null : { name: leader, createRevision: 10, revision: 10, leaseExpiresAt: NOW + 3000 },
    termRevision: fields.termRevision ?? 10,
    members: fields.members ?? [primaryRecord('a'), member('b'), member('c')],
    sync: { leader: 'a', standbys: ['b', 'c'], revision: 20, ...fields.sync },
    switchover: fields.switchover ?? null,
    optime: fields.optime === undefined ? { lsn: 1000, timeline: 1 } : fields.optime,
    config: null,
  }
}

/** The same cluster after a's lease expired: no leader key, a's record gone, b and c reported since (revision 60 > 55). */
export function clusterWithoutLeader (fields: ClusterFields = {}): ClusterSnapshot {
  return clusterWithLeader({ members: [member('b', { revision: 60 }), member('c', { revision: 60 })], ...fields, leader: null })
}

export function pgPrimary (fields: Partial<PostgresStatus> = {}): PostgresStatus {
  return { running: true, role: 'primary', writable: true, lsn: 1000, timeline: 1, following: null, diverged: false, syncStandbys: ['b', 'c'], syncChangedAtLsn: 500, timelineStartLsn: 0, ...fields }
}

export function pgReplica (fields: Partial<PostgresStatus> = {}): PostgresStatus {
  return { running: true, role: 'replica', writable: false, lsn: 1000, timeline: 1, following: 'a', diverged: false, syncStandbys: [], syncChangedAtLsn: 0, timelineStartLsn: 0, ...fields }
}

/** This node's state: renewed 500 ms ago; no leader key seen missing before revision 55, 1 s ago. */
export function local (name: string, postgres: PostgresStatus | null, fields: Partial<LocalState> = {}): LocalState {
  return { name, postgres, lastRenewalAt: NOW - 500, noLeaderSince: { at: NOW - 1000, revision: 55 }, busy: null, ...fields }
}
