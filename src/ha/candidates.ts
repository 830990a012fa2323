/**
 * Who may take the leader key when nobody holds it, with a reason for every member left out
 * (Patroni's _is_healthiest_node and failover_limitation, standing alone). Pure.
 *
 * Rules, in order, for each member (this node judged on its own fresh status):
 *   1. it reported after the leader key vanished (a member that did not is unreachable or dead);
 *   2. it is running and healthy;
 *   3. its timeline is known and not behind the cluster's (the last leader's optime);
 *   4. synchronous mode: it is in the sync key (a sync standby or the leader that wrote it);
 *      asynchronous mode: it is at most maximumLagOnFailover behind the last leader's optime;
 *   5. synchronous mode, a standby: every sync standby reported a running server after the key
 *      vanished and none is ahead of it — a commit was acknowledged by ANY one of them, so only the
 *      most advanced of all of them is sure to hold every acknowledged commit (a stopped one's
 *      position is only its last known one; the leader drops a dead standby from the sync key
 *      while it lives, so this waits only when the leader and a standby fail together);
 *   6. a failover/switchover request naming a member: only that member, if it passes 1–5.
 * The winner is the first eligible member by timeline, then WAL position (both highest first),
 * then name.
 */
import type { HaConfig } from './config.js'
import type { ClusterSnapshot, Lsn, MemberStatus } from './dcs/port.js'
import { formatLsn } from './lsn.js'

export interface Exclusion {
  readonly name: string
  readonly reason: string
}

export interface Election {
  /** The member that should race for the key, or null when nobody may. */
  readonly winner: string | null
  /** Eligible members, best first. */
  readonly ranked: readonly string[]
  readonly excluded: readonly Exclusion[]
}

interface View extends MemberStatus {
  readonly name: string
  readonly fresh: boolean
}

/**
 * `self` is this node's current status; `reportedAfter` the store revision after which a member's
 * record counts as fresh (the revision at which this node first saw no leader key).
 */
export function elect (snapshot: ClusterSnapshot, self: { name: string, status: MemberStatus }, reportedAfter: number, config: HaConfig): Election {
  const views: View[] = snapshot.members
    .filter((m) => m.name !== self.name)
    .map((m) => ({ ...m, fresh: m.revision > reportedAfter }))
  views.push({ ...self.status, name: self.name, fresh: true })
  views.sort((a, b) => a.name.localeCompare(b.name))

  const excluded: Exclusion[] = []
  let eligible: View[] = []
  for (const view of views) {
    const reason = basicLimitation(view, snapshot, config)
    if (reason === null) eligible.push(view)
    else excluded.push({ name: view.name, reason })
  }

  const sync = snapshot.sync
  if (config.synchronousMode && sync.revision !== null && sync.standbys.length > 0) {
    const standbys = sync.standbys.map((name) => views.find((v) => v.name === name))
    const missing = sync.standbys.filter((name, i) => standbys[i]?.fresh !== true)
    // A stopped or silent standby's position is its last known one, or none: it may have flushed more.
    const unknown = sync.standbys.filter((name, i) => standbys[i]?.fresh === true && standbys[i]?.role === 'stopped' && name !== self.name)
    const highest = Math.max(...standbys.map((v) => (v?.fresh === true ? v.lsn : 0)))
    eligible = eligible.filter((view) => {
      if (view.name === sync.leader) return true
      if (missing.length > 0) {
        excluded.push({ name: view.name, reason: `sync standby ${missing.join(', ')} has not reported since the leader key vanished and may hold acknowledged commits` })
        return false
      }
      if (unknown.length > 0) {
        excluded.push({ name: view.name, reason: `sync standby ${unknown.join(', ')} reports no running PostgreSQL, so no position, and may hold acknowledged commits` })
        return false
      }
      if (view.lsn < highest) {
        excluded.push({ name: view.name, reason: `behind another sync standby (${formatLsn(view.lsn)} < ${formatLsn(highest)})` })
        return false
      }
      return true
    })
  }

  eligible.sort(rank)
  const request = snapshot.switchover
  if (request !== null && eligible.some((v) => v.name === request.to)) {
    for (const view of eligible) {
      if (view.name !== request.to) excluded.push({ name: view.name, reason: `the ${request.from === null ? 'failover' : 'switchover'} request names ${request.to}` })
    }
    eligible = eligible.filter((v) => v.name === request.to)
  }
  excluded.sort((a, b) => a.name.localeCompare(b.name))
  return { winner: eligible[0]?.name ?? null, ranked: eligible.map((v) => v.name), excluded }
}

function basicLimitation (view: View, snapshot: ClusterSnapshot, config: HaConfig): string | null {
  if (!view.fresh) return 'no report since the leader key vanished'
  if (view.role === 'stopped') return 'PostgreSQL is not running'
  if (!view.healthy) return 'unhealthy'
  if (view.timeline <= 0) return 'no timeline information'
  const optime = snapshot.optime
  if (optime !== null && view.timeline < optime.timeline) return `timeline ${view.timeline} is behind the cluster timeline ${optime.timeline}`
  if (config.synchronousMode) {
    const sync = snapshot.sync
    if (sync.revision !== null && sync.leader !== view.name && !sync.standbys.includes(view.name)) return 'not in the sync set'
  } else if (optime !== null && optime.lsn - view.lsn > config.maximumLagOnFailover) {
    return `lagging ${optime.lsn - view.lsn} bytes behind the last leader position (maximumLagOnFailover ${config.maximumLagOnFailover})`
  }
  return null
}

function rank (a: { name: string, timeline: number, lsn: Lsn }, b: { name: string, timeline: number, lsn: Lsn }): number {
  return b.timeline - a.timeline || b.lsn - a.lsn || a.name.localeCompare(b.name)
}

/** One line naming every exclusion: "B: unhealthy; C: not in the sync set". */
export function describeExclusions (excluded: readonly Exclusion[]): string {
  return excluded.map((e) => `${e.name}: ${e.reason}`).join('; ')
}
