/**
 * The leader's synchronous-standby bookkeeping, one step per cycle. Pure.
 *
 * The invariant: every member that can acknowledge a commit (synchronous_standby_names, ANY 1) is
 * in the sync key, so an election that looks at the sync key finds every acknowledged commit.
 * Hence the order: a standby is added to the sync key before PostgreSQL, removed from PostgreSQL
 * before the sync key — and removed from the sync key only once a remaining standby has reached
 * the WAL position at which PostgreSQL stopped waiting for it.
 */
import type { HaAction } from './actions.js'
import type { ClusterSnapshot } from './dcs/port.js'
import type { PostgresStatus } from './local.js'
import { formatLsn } from './lsn.js'

export interface SyncStep {
  readonly action: HaAction | null
  readonly note: string
}

export function syncStep (snapshot: ClusterSnapshot, me: string, pg: PostgresStatus): SyncStep | null {
  const desired = snapshot.members
    .filter((m) => m.name !== me && m.role === 'replica' && m.healthy && m.following === me && m.timeline === pg.timeline)
    .map((m) => m.name)
  const sync = snapshot.sync
  const inPostgres = [...pg.syncStandbys].sort()

  if (sync.leader !== me) {
    const standbys = union(inPostgres, desired)
    return { action: { kind: 'set-sync-standbys', target: 'dcs', standbys, expectedRevision: sync.revision }, note: `taking over the sync key with ${list(standbys)}` }
  }
  const inDcs = [...sync.standbys].sort()
  const add = desired.filter((name) => !inDcs.includes(name))
  if (add.length > 0) {
    const standbys = union(inDcs, add)
    return { action: { kind: 'set-sync-standbys', target: 'dcs', standbys, expectedRevision: sync.revision }, note: `adding ${list(add)} to the sync key` }
  }
  const target = desired.filter((name) => inDcs.includes(name)).sort()
  if (!same(target, inPostgres)) {
    return { action: { kind: 'set-sync-standbys', target: 'postgres', standbys: target }, note: `synchronous_standby_names = ANY 1 (${target.join(', ')})` }
  }
  const remove = inDcs.filter((name) => !inPostgres.includes(name))
  if (remove.length === 0) return null
  const reached = Math.max(0, ...snapshot.members.filter((m) => inPostgres.includes(m.name) && m.timeline === pg.timeline).map((m) => m.lsn))
  if (inPostgres.length > 0 && reached < pg.syncChangedAtLsn) {
    return { action: null, note: `keeping ${list(remove)} in the sync key until ${list(inPostgres)} reach ${formatLsn(pg.syncChangedAtLsn)}` }
  }
  return { action: { kind: 'set-sync-standbys', target: 'dcs', standbys: inPostgres, expectedRevision: sync.revision }, note: `removing ${list(remove)} from the sync key` }
}

function union (a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])].sort()
}

function same (a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

function list (names: readonly string[]): string {
  return names.length === 0 ? 'no standby' : names.join(', ')
}
