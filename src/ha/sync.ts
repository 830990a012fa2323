/**
 * The leader's synchronous-standby bookkeeping, one step per cycle. Pure.
 *
 * The invariant: every member that can acknowledge a commit (synchronous_standby_names, ANY 1) is
 * in the sync key, so an election that looks at the sync key finds every acknowledged commit.
 * Hence the order: a standby is added to the sync key before PostgreSQL, removed from PostgreSQL
 * before the sync key — and removed from the sync key only once a remaining standby has reached
 * the WAL position at which PostgreSQL stopped waiting for it. A new leader names a standby only
 * once the standby has reached the leader's promotion point: what was acknowledged before is on the
 * leader, and must be on every member the election may pick.
 *
 * Non-strict mode (Patroni's default synchronous_mode without synchronous_mode_strict): with no
 * healthy standby left, the sync key is emptied first — then no standby may take over — and only
 * then does PostgreSQL stop waiting, so a dead standby does not block writes forever. Coming back,
 * the order is reversed: PostgreSQL waits for the standby first, and the standby enters the key
 * only once it holds everything the primary acknowledged alone.
 */
import type { HaAction } from './actions.js'
import type { ClusterSnapshot } from './dcs/port.js'
import type { PostgresStatus } from './local.js'
import { formatLsn } from './lsn.js'

export interface SyncStep {
  readonly actions: readonly HaAction[]
  readonly note: string
}

export function syncStep (snapshot: ClusterSnapshot, me: string, pg: PostgresStatus, strict = true): SyncStep | null {
  // Commits acknowledged before this primary's promotion are on this primary, maybe on no standby:
  // a standby may be named only once it holds them. One that does not stream from this primary
  // yet acknowledges nothing until it does.
  const healthy = snapshot.members.filter((m) => m.name !== me && m.role === 'replica' && m.healthy)
  const desired = healthy.filter((m) => m.lsn >= pg.timelineStartLsn).map((m) => m.name)
  const sync = snapshot.sync
  const inPostgres = [...pg.syncStandbys].sort()
  const toPostgres = (target: readonly string[]): { actions: HaAction[], note: string } =>
    same(target, inPostgres)
      ? { actions: [], note: '' }
      : { actions: [{ kind: 'set-sync-standbys', target: 'postgres', standbys: target }], note: `; synchronous_standby_names = ANY 1 (${target.join(', ')})` }

  const dcs = (standbys: readonly string[]): HaAction => ({ kind: 'set-sync-standbys', target: 'dcs', standbys, expectedRevision: sync.revision })
  // A standby still catching up to the promotion point is worth waiting for; none at all is not.
  if (!strict && healthy.length === 0) {
    // [] in PostgreSQL is either off or the name that never connects: only off lets commits through.
    const off: HaAction[] = pg.syncOff === true ? [] : [{ kind: 'set-sync-standbys', target: 'postgres', standbys: [] }]
    if (sync.leader !== me || sync.standbys.length > 0) {
      return { actions: [dcs([]), ...off], note: 'no healthy standby: emptying the sync key (no standby may take over), then acknowledging on the primary alone' }
    }
    return off.length === 0 ? null : { actions: off, note: 'no healthy standby: commits acknowledged on the primary alone' }
  }
  if (!strict && sync.leader === me && sync.standbys.length === 0) {
    // Named alone, a standby that does not stream yet (still rewinding, say) would block every commit.
    const streaming = desired.filter((n) => snapshot.members.some((m) => m.name === n && m.following === me && m.timeline === pg.timeline))
    return rejoin(snapshot, pg, streaming, inPostgres, dcs)
  }

  if (sync.leader !== me) {
    const standbys = union(inPostgres, desired)
    const then = toPostgres(desired)
    return { actions: [{ kind: 'set-sync-standbys', target: 'dcs', standbys, expectedRevision: sync.revision }, ...then.actions], note: `taking over the sync key with ${list(standbys)}${then.note}` }
  }
  const inDcs = [...sync.standbys].sort()
  const add = desired.filter((name) => !inDcs.includes(name))
  if (add.length > 0) {
    const then = toPostgres(desired)
    return { actions: [{ kind: 'set-sync-standbys', target: 'dcs', standbys: union(inDcs, add), expectedRevision: sync.revision }, ...then.actions], note: `adding ${list(add)} to the sync key${then.note}` }
  }
  const then = toPostgres(desired.filter((name) => inDcs.includes(name)))
  if (then.actions.length > 0) return { actions: then.actions, note: then.note.slice(2) }
  const remove = inDcs.filter((name) => !inPostgres.includes(name))
  if (remove.length === 0) return null
  const reached = Math.max(0, ...snapshot.members.filter((m) => inPostgres.includes(m.name) && m.timeline === pg.timeline).map((m) => m.lsn))
  if (inPostgres.length > 0 && reached < pg.syncChangedAtLsn) {
    return { actions: [], note: `keeping ${list(remove)} in the sync key until ${list(inPostgres)} reach ${formatLsn(pg.syncChangedAtLsn)}` }
  }
  return { actions: [{ kind: 'set-sync-standbys', target: 'dcs', standbys: inPostgres, expectedRevision: sync.revision }], note: `removing ${list(remove)} from the sync key` }
}

/**
 * Non-strict, the key empty: the primary acknowledged commits alone. A standby is named in
 * PostgreSQL first and enters the key once it reached the position at which PostgreSQL began
 * waiting for it (unknown after an agent restart: named again to learn it).
 */
function rejoin (snapshot: ClusterSnapshot, pg: PostgresStatus, desired: readonly string[], inPostgres: readonly string[], dcs: (s: readonly string[]) => HaAction): SyncStep {
  const name: HaAction = { kind: 'set-sync-standbys', target: 'postgres', standbys: desired }
  if (desired.length === 0) return { actions: pg.syncOff === true ? [] : [name], note: 'no standby streams yet: commits acknowledged on the primary alone' }
  if (!same(desired, inPostgres) || pg.syncChangedAtLsn === 0) {
    return { actions: [name], note: `synchronous_standby_names = ANY 1 (${desired.join(', ')}); into the sync key once caught up` }
  }
  const caught = desired.filter((n) => snapshot.members.some((m) => m.name === n && m.timeline === pg.timeline && m.lsn >= pg.syncChangedAtLsn))
  if (caught.length === 0) return { actions: [], note: `keeping the sync key empty until ${list(desired)} reach ${formatLsn(pg.syncChangedAtLsn)}` }
  return { actions: [dcs(caught)], note: `adding ${list(caught)} to the sync key: caught up to ${formatLsn(pg.syncChangedAtLsn)}` }
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
