/**
 * One cycle of the HA agent as a pure function: one DCS snapshot (null when the DCS could not be
 * read), this node's local state and clock, the config → the actions to take and one sentence
 * saying why (Patroni's _run_cycle and its outcome messages). Split by situation:
 *
 *   - DCS unreachable: a writable primary fences itself; nobody promotes.
 *   - the leader key is ours: renew; a fenced or not-yet-promoted leader becomes writable; a
 *     switchover request is honoured; the sync key and synchronous_standby_names are kept in step.
 *   - someone else's: follow it; a former primary fences, demotes and rewinds.
 *   - no leader key: fence; race only if `elect` names this node.
 *
 * Before any of that: a writable primary whose last successful renewal is older than
 * ttl - safetyMargin fences now, whatever the snapshot says — its lease may be about to expire.
 */
import type { Decision, HaAction, LocalState } from './actions.js'
import { describeExclusions, elect } from './candidates.js'
import { writableForMs, type HaConfig } from './config.js'
import type { ClusterSnapshot, MemberStatus } from './dcs/port.js'
import type { PostgresStatus } from './local.js'
import { formatLsn } from './lsn.js'
import { syncStep } from './sync.js'

export function decide (snapshot: ClusterSnapshot | null, local: LocalState, now: number, config: HaConfig): Decision {
  const pg = local.postgres
  const me = local.name
  const pre: HaAction[] = []
  let preNote = ''
  const renewedAgo = local.lastRenewalAt === null ? Infinity : now - local.lastRenewalAt
  if (pg?.writable === true && renewedAgo >= writableForMs(config)) {
    pre.push({ kind: 'fence' })
    preNote = local.lastRenewalAt === null
      ? 'fenced: no lease renewal on record; '
      : `fenced: last lease renewal ${renewedAgo} ms ago, limit ${writableForMs(config)} ms; `
  }
  const fenceIfWritable = (): HaAction[] => (pg?.writable === true && pre.length === 0 ? [{ kind: 'fence' }] : [])
  const done = (actions: HaAction[], message: string): Decision => ({ actions: [...pre, ...actions], message: preNote + message })

  if (snapshot === null) {
    if (pg?.writable === true) return done(fenceIfWritable(), `${pre.length > 0 ? '' : 'fenced: '}DCS unreachable; I am ${me} and cannot renew the leader lease`)
    return done([], `no action: DCS unreachable; I am ${me}, ${describeRole(pg)}, and do not promote without the lease`)
  }
  const leader = snapshot.leader
  if (leader !== null && leader.name === me) {
    const effective = pg !== null && pre.length > 0 ? { ...pg, writable: false } : pg
    const [ownActions, ownMessage] = ownLeader(snapshot, local, effective, config)
    return done(ownActions, ownMessage)
  }
  if (leader !== null) {
    const [otherActions, otherMessage] = otherLeader(leader.name, local, pg, fenceIfWritable())
    return done(otherActions, otherMessage)
  }
  const [actions, message, retryAfterMs] = noLeader(snapshot, local, pg, now, config, fenceIfWritable())
  return retryAfterMs === undefined ? done(actions, message) : { ...done(actions, message), retryAfterMs }
}

type Outcome = [HaAction[], string] | [HaAction[], string, number]

function ownLeader (snapshot: ClusterSnapshot, local: LocalState, pg: PostgresStatus | null, config: HaConfig): Outcome {
  const me = local.name
  if (pg === null || !pg.running) {
    const others = elect(snapshot, { name: me, status: memberStatus(pg) }, -1, config)
    const candidate = others.ranked.find((name) => name !== me)
    if (candidate !== undefined && isSilent(pg)) {
      // Patroni's "error communicating with PostgreSQL": neither renew nor release. A frozen server
      // loses the key when the lease lapses; a merely slow one keeps it if it answers in time.
      return [[], `not renewing the lease: PostgreSQL on ${me} did not answer in time; if it stays silent the lease lapses and ${candidate} can take over`]
    }
    if (candidate !== undefined) return [[{ kind: 'release' }], `released the leader key: PostgreSQL is not running on ${me} and ${candidate} can take over`]
    const start: HaAction[] = pg !== null && !isSilent(pg) && local.busy === null ? [{ kind: 'start' }] : []
    return [[{ kind: 'renew' }, ...start], `PostgreSQL is not running on ${me}; keeping the leader key${start.length > 0 ? ' and starting it' : ''}, no other member can take over (${describeExclusions(others.excluded.filter((e) => e.name !== me))})`]
  }
  if (local.busy !== null) return [[{ kind: 'renew' }], `renewed the lease: I am ${me}, the leader with the lock; ${local.busy} in progress`]
  if (pg.role === 'replica') return [[{ kind: 'renew' }, { kind: 'promote' }], `promoting: I am ${me} and hold the leader key`]

  const request = snapshot.switchover
  if (request !== null && request.to !== me && (request.from === me || request.from === null)) {
    const target = snapshot.members.find((m) => m.name === request.to)
    const refusal = target === undefined
      ? 'it is not a member'
      : !target.healthy || target.role !== 'replica'
          ? 'it is not a healthy replica'
          : target.following !== me || target.timeline !== pg.timeline
            ? `it does not stream from ${me}`
            : config.synchronousMode && (snapshot.sync.leader !== me || !snapshot.sync.standbys.includes(target.name))
              ? 'it is not a synchronous standby'
              : null
    if (refusal !== null) {
      return [[{ kind: 'renew' }, { kind: 'clear-switchover', expectedRevision: request.revision }, ...(pg.writable ? [] : [{ kind: 'unfence' } as const])],
        `switchover to ${request.to} refused: ${refusal}; I am ${me}, the leader with the lock`]
    }
    if (pg.writable) return [[{ kind: 'renew' }, { kind: 'fence' }], `switchover to ${request.to}: fenced, waiting for ${request.to} to catch up to ${formatLsn(pg.lsn)}`]
    if (target !== undefined && target.lsn >= pg.lsn) return [[{ kind: 'release' }], `switchover to ${request.to}: it has reached ${formatLsn(pg.lsn)}; released the leader key`]
    return [[{ kind: 'renew' }], `switchover to ${request.to}: waiting for it to catch up (${formatLsn(target?.lsn ?? 0)} of ${formatLsn(pg.lsn)})`]
  }
  const actions: HaAction[] = [{ kind: 'renew' }]
  if (request !== null) actions.push({ kind: 'clear-switchover', expectedRevision: request.revision })
  let message = `no action: I am ${me}, the leader with the lock`
  if (!pg.writable) {
    actions.push({ kind: 'unfence' })
    message = `unfencing once the lease is renewed: I am ${me}, the leader with the lock`
  }
  const step = config.synchronousMode ? syncStep(snapshot, me, pg, config.synchronousModeStrict) : null
  if (step !== null) {
    actions.push(...step.actions)
    message += `; ${step.note}`
  }
  return [actions, message]
}

function otherLeader (leader: string, local: LocalState, pg: PostgresStatus | null, fence: HaAction[]): Outcome {
  const me = local.name
  if (isSilent(pg)) return [fence, `no action: PostgreSQL on ${me} did not answer in time; the leader is ${leader}`]
  if (local.busy !== null) return [fence, `no action: I am ${me}, the leader is ${leader}; ${local.busy} in progress`]
  // Stopped and nothing will start it (a demotion that failed half-way stops the server, and its
  // supervisor restarts only a crash): start it as a standby of the leader, as Patroni does.
  if (!pg.running) {
    if (pg.role === 'primary') {
      return [[{ kind: 'demote-to-replica', leader, rewind: true }],
        `starting as a replica of ${leader}: PostgreSQL is not running on ${me}, a former primary: rewinding if diverged`]
    }
    return [[{ kind: 'follow', leader }], `starting as a replica of ${leader}: PostgreSQL is not running on ${me}`]
  }
  if (pg.role === 'primary') {
    return [[...fence, { kind: 'demote-to-replica', leader, rewind: true }],
      `demoting: ${leader} holds the leader key; I am ${me}, a former primary: rewinding if diverged and following ${leader}`]
  }
  if (pg.diverged) return [[{ kind: 'rewind', leader }], `rewinding: the WAL of ${me} diverged from ${leader}'s`]
  if (pg.following !== leader) return [[{ kind: 'follow', leader }], `following the new leader ${leader}: I am ${me}, a replica`]
  return [[], `no action: I am ${me}, a replica following the leader ${leader}`]
}

function noLeader (snapshot: ClusterSnapshot, local: LocalState, pg: PostgresStatus | null, now: number, config: HaConfig, fence: HaAction[]): Outcome {
  const me = local.name
  const fenced = fence.length > 0 ? 'fenced: no leader key; ' : ''
  if (local.busy !== null) return [fence, `${fenced}no action: no leader key; ${local.busy} in progress`]
  // A stopped server reports only its last known position, which blocks every sync standby's
  // election (candidates.ts): start it as it is, fenced, so that it reports where it really is.
  if (pg !== null && !pg.running && !isSilent(pg)) return [[...fence, { kind: 'start' }], `${fenced}starting PostgreSQL as it is on disk (fenced): no leader key, and a stopped server reports no position`]
  // Reports count only from after the last leadership term: one that began after this node first saw
  // no leader may have acknowledged commits that earlier reports do not show.
  const remembered = local.noLeaderSince
  const since = remembered !== null && remembered.revision >= (snapshot.termRevision ?? 0) ? remembered : { at: now, revision: snapshot.revision }
  const silent = snapshot.members.filter((m) => m.name !== me && m.revision <= since.revision).map((m) => m.name)
  if (silent.length > 0 && now - since.at < config.loopWaitMs) {
    return [fence, `${fenced}waiting for ${silent.join(', ')} to report: the leader key vanished ${now - since.at} ms ago`, Math.min(100, config.loopWaitMs)]
  }
  const election = elect(snapshot, { name: me, status: memberStatus(pg) }, since.revision, config)
  if (election.winner === me) {
    const acquire: HaAction = { kind: 'acquire', termRevision: snapshot.termRevision }
    const clear: HaAction[] = snapshot.switchover === null ? [] : [{ kind: 'clear-switchover', expectedRevision: snapshot.switchover.revision }]
    const position = `timeline ${pg?.timeline ?? 0}, ${formatLsn(pg?.lsn ?? 0)}`
    if (pg?.role === 'primary') return [[...fence, acquire, { kind: 'unfence' }, ...clear], `${fenced}racing for the leader key as the former primary, the healthiest member (${position})`]
    return [[...fence, acquire, ...clear, { kind: 'promote' }], `${fenced}racing for the leader key: I am ${me}, the healthiest member (${position})`]
  }
  const mine = election.excluded.find((e) => e.name === me)
  if (mine !== undefined) return [fence, `${fenced}no action: not racing for the leader key: ${mine.reason}`]
  if (election.winner !== null) return [fence, `${fenced}no action: not racing for the leader key: ${election.winner} is healthier`]
  return [fence, `${fenced}no action: no member can take over: ${describeExclusions(election.excluded)}`]
}

/** Not known to run, not known to be dead: no status at all, or a postmaster that did not answer. */
function isSilent (pg: PostgresStatus | null): pg is null | (PostgresStatus & { unresponsive: true }) {
  return pg === null || pg.unresponsive === true
}

const STOPPED: MemberStatus = { role: 'stopped', lsn: 0, timeline: 0, healthy: false, sync: false, following: null }

/** This node's status as it reports it to the DCS. */
export function memberStatus (pg: PostgresStatus | null, sync = false): MemberStatus {
  if (pg === null || !pg.running) return { ...STOPPED, lsn: pg?.lsn ?? 0, timeline: pg?.timeline ?? 0 }
  return {
    role: pg.role,
    lsn: pg.lsn,
    timeline: pg.timeline,
    healthy: !pg.diverged,
    sync: sync && pg.role === 'replica',
    following: pg.role === 'replica' ? pg.following : null,
  }
}

function describeRole (pg: PostgresStatus | null): string {
  if (pg === null || !pg.running) return 'PostgreSQL not running'
  return pg.role === 'primary' ? 'a fenced primary' : 'a replica'
}
