import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { HaAction, LocalState } from '../../src/ha/actions.js'
import { elect } from '../../src/ha/candidates.js'
import { haConfig, type HaConfig } from '../../src/ha/config.js'
import type { ClusterSnapshot } from '../../src/ha/dcs/port.js'
import { decide } from '../../src/ha/decide.js'
import {
  clusterWithLeader, clusterWithoutLeader, local, member, NOW, pgPrimary, pgReplica, primaryRecord,
} from '../helpers/ha-cluster.js'

const config = haConfig()
const asyncConfig = haConfig({ synchronousMode: false, maximumLagOnFailover: 100 })

interface Row {
  readonly name: string
  readonly snapshot: ClusterSnapshot | null
  readonly local: LocalState
  readonly now?: number
  readonly config?: HaConfig
  readonly actions: readonly (HaAction | HaAction['kind'])[]
  readonly message: RegExp
  readonly retryAfterMs?: number
}

const rows: Row[] = [
  {
    name: 'the leader with the lock renews and does nothing else',
    snapshot: clusterWithLeader(),
    local: local('a', pgPrimary()),
    actions: ['renew'],
    message: /^no action: I am a, the leader with the lock$/,
  },
  {
    name: 'lease loss: no successful renewal for ttl - safetyMargin → fence before the lease can expire, then renew',
    snapshot: clusterWithLeader(),
    local: local('a', pgPrimary(), { lastRenewalAt: NOW - 2600 }),
    actions: ['fence', 'renew', 'unfence'],
    message: /^fenced: last lease renewal 2600 ms ago, limit 2500 ms; unfencing once the lease is renewed/,
  },
  {
    name: 'DCS unreachable: a writable primary fences itself',
    snapshot: null,
    local: local('a', pgPrimary()),
    actions: ['fence'],
    message: /^fenced: DCS unreachable; I am a and cannot renew the leader lease$/,
  },
  {
    name: 'DCS unreachable: a replica does not promote',
    snapshot: null,
    local: local('b', pgReplica()),
    actions: [],
    message: /^no action: DCS unreachable; I am b, a replica, and do not promote without the lease$/,
  },
  {
    name: 'no promotion without the lease: a replica follows the key holder even if its record looks unhealthy',
    snapshot: clusterWithLeader({ members: [primaryRecord('a', { healthy: false, role: 'stopped' }), member('b', { lsn: 5000 }), member('c')] }),
    local: local('b', pgReplica({ lsn: 5000 })),
    actions: [],
    message: /^no action: I am b, a replica following the leader a$/,
  },
  {
    name: 'the key is ours but PostgreSQL is still a replica (just acquired): renew and promote',
    snapshot: clusterWithLeader({ leader: 'b' }),
    local: local('b', pgReplica()),
    actions: ['renew', 'promote'],
    message: /^promoting: I am b and hold the leader key$/,
  },
  {
    name: 'a fenced primary that holds the key unfences after renewing',
    snapshot: clusterWithLeader(),
    local: local('a', pgPrimary({ writable: false })),
    actions: ['renew', 'unfence'],
    message: /^unfencing once the lease is renewed: I am a, the leader with the lock$/,
  },
  {
    name: 'no leader key: the most advanced sync standby races',
    snapshot: clusterWithoutLeader({ members: [member('b', { revision: 60, lsn: 900 }), member('c', { revision: 60, lsn: 1200 })] }),
    local: local('c', pgReplica({ lsn: 1200 })),
    actions: [{ kind: 'acquire', termRevision: 10 }, 'promote'],
    message: /^racing for the leader key: I am c, the healthiest member \(timeline 1, 0\/4B0\)$/,
  },
  {
    name: 'no leader key: a less advanced standby does not race',
    snapshot: clusterWithoutLeader({ members: [member('b', { revision: 60, lsn: 900 }), member('c', { revision: 60, lsn: 1200 })] }),
    local: local('b', pgReplica({ lsn: 900 })),
    actions: [],
    message: /^no action: not racing for the leader key: behind another sync standby \(0\/384 < 0\/4B0\)$/,
  },
  {
    name: 'no leader key, equal positions: the first by name races',
    snapshot: clusterWithoutLeader(),
    local: local('b', pgReplica()),
    actions: [{ kind: 'acquire', termRevision: 10 }, 'promote'],
    message: /^racing for the leader key: I am b/,
  },
  {
    name: 'synchronous mode: a more advanced member outside the sync set never races',
    snapshot: clusterWithoutLeader({ sync: { standbys: ['b'] }, members: [member('b', { revision: 60, lsn: 900 }), member('c', { revision: 60, lsn: 1200 })] }),
    local: local('c', pgReplica({ lsn: 1200 })),
    actions: [],
    message: /^no action: not racing for the leader key: not in the sync set$/,
  },
  {
    name: 'synchronous mode: the sync standby races although another member is ahead',
    snapshot: clusterWithoutLeader({ sync: { standbys: ['b'] }, members: [member('b', { revision: 60, lsn: 900 }), member('c', { revision: 60, lsn: 1200 })] }),
    local: local('b', pgReplica({ lsn: 900 })),
    actions: [{ kind: 'acquire', termRevision: 10 }, 'promote'],
    message: /^racing for the leader key: I am b/,
  },
  {
    name: 'synchronous mode: a sync standby that has not reported since the key vanished blocks the others',
    snapshot: clusterWithoutLeader({ members: [member('b', { revision: 60 }), member('c', { revision: 40, lsn: 800 })] }),
    local: local('b', pgReplica(), { noLeaderSince: { at: NOW - 2000, revision: 55 } }),
    actions: [],
    message: /^no action: not racing for the leader key: sync standby c has not reported since the leader key vanished and may hold acknowledged commits$/,
  },
  {
    name: 'no leader key, first loop: wait for the others to report',
    snapshot: clusterWithoutLeader({ members: [member('b', { revision: 60 }), member('c', { revision: 40 })] }),
    local: local('b', pgReplica(), { noLeaderSince: { at: NOW - 100, revision: 55 } }),
    actions: [],
    message: /^waiting for c to report: the leader key vanished 100 ms ago$/,
    retryAfterMs: 100,
  },
  {
    name: 'no leader key, but a term began since this node first saw none: earlier reports do not count',
    snapshot: clusterWithoutLeader({ termRevision: 58, members: [member('b', { revision: 60 }), member('c', { revision: 57, lsn: 800 })] }),
    local: local('b', pgReplica(), { noLeaderSince: { at: NOW - 5000, revision: 55 } }),
    actions: [],
    message: /^waiting for c to report: the leader key vanished 0 ms ago$/,
    retryAfterMs: 100,
  },
  {
    name: 'no leader key: a writable former primary fences itself at once',
    snapshot: clusterWithoutLeader({ members: [member('b', { revision: 60, lsn: 2000 }), member('c', { revision: 60, lsn: 2000 })] }),
    local: local('a', pgPrimary({ lsn: 1000 })),
    actions: ['fence'],
    message: /^fenced: no leader key; no action: not racing for the leader key: b is healthier$/,
  },
  {
    name: 'no leader key: the fenced former primary, still the most advanced, takes the key back without promoting',
    snapshot: clusterWithoutLeader({ members: [member('b', { revision: 60, lsn: 900 }), member('c', { revision: 60, lsn: 900 })] }),
    local: local('a', pgPrimary({ writable: false, lsn: 1000 })),
    actions: [{ kind: 'acquire', termRevision: 10 }, 'unfence'],
    message: /^racing for the leader key as the former primary/,
  },
  {
    name: 'someone else holds the key: a former primary fences, demotes and rewinds',
    snapshot: clusterWithLeader({ leader: 'b' }),
    local: local('a', pgPrimary()),
    actions: ['fence', { kind: 'demote-to-replica', leader: 'b', rewind: true }],
    message: /^demoting: b holds the leader key; I am a, a former primary: rewinding if diverged and following b$/,
  },
  {
    name: 'a replica still following the old leader follows the new one',
    snapshot: clusterWithLeader({ leader: 'b' }),
    local: local('c', pgReplica({ following: 'a' })),
    actions: [{ kind: 'follow', leader: 'b' }],
    message: /^following the new leader b: I am c, a replica$/,
  },
  {
    name: 'a replica whose WAL diverged rewinds',
    snapshot: clusterWithLeader({ leader: 'b' }),
    local: local('c', pgReplica({ following: 'b', diverged: true })),
    actions: [{ kind: 'rewind', leader: 'b' }],
    message: /^rewinding: the WAL of c diverged from b's$/,
  },
  {
    name: 'slow work in progress: the leader keeps renewing',
    snapshot: clusterWithLeader({ leader: 'b' }),
    local: local('b', pgReplica(), { busy: 'promotion' }),
    actions: ['renew'],
    message: /^renewed the lease: I am b, the leader with the lock; promotion in progress$/,
  },
  {
    name: 'switchover a → b, step 1: the leader fences and waits for b to catch up',
    snapshot: clusterWithLeader({ switchover: { from: 'a', to: 'b', revision: 90 }, members: [primaryRecord('a'), member('b', { lsn: 990 }), member('c')] }),
    local: local('a', pgPrimary()),
    actions: ['renew', 'fence'],
    message: /^switchover to b: fenced, waiting for b to catch up to 0\/3E8$/,
  },
  {
    name: 'switchover a → b, step 2: b has caught up, the leader releases the key',
    snapshot: clusterWithLeader({ switchover: { from: 'a', to: 'b', revision: 90 } }),
    local: local('a', pgPrimary({ writable: false })),
    actions: ['release'],
    message: /^switchover to b: it has reached 0\/3E8; released the leader key$/,
  },
  {
    name: 'switchover a → b, step 3: the named candidate acquires',
    snapshot: clusterWithoutLeader({ switchover: { from: 'a', to: 'b', revision: 90 } }),
    local: local('b', pgReplica()),
    actions: [{ kind: 'acquire', termRevision: 10 }, { kind: 'clear-switchover', expectedRevision: 90 }, 'promote'],
    message: /^racing for the leader key: I am b/,
  },
  {
    name: 'switchover a → b, step 3: another member equally advanced stands aside',
    snapshot: clusterWithoutLeader({ switchover: { from: 'a', to: 'c', revision: 90 } }),
    local: local('b', pgReplica()),
    actions: [],
    message: /^no action: not racing for the leader key: the switchover request names c$/,
  },
  {
    name: 'switchover to a member that is not a healthy replica is refused and cleared',
    snapshot: clusterWithLeader({ switchover: { from: 'a', to: 'c', revision: 90 }, members: [primaryRecord('a'), member('b'), member('c', { healthy: false })] }),
    local: local('a', pgPrimary()),
    actions: ['renew', { kind: 'clear-switchover', expectedRevision: 90 }],
    message: /^switchover to c refused: it is not a healthy replica/,
  },
  {
    name: 'the leader whose PostgreSQL died releases the key when a standby can take over',
    snapshot: clusterWithLeader(),
    local: local('a', pgPrimary({ running: false, writable: false })),
    actions: ['release'],
    message: /^released the leader key: PostgreSQL is not running on a and b can take over$/,
  },
  {
    name: 'the leader whose PostgreSQL runs but did not answer in time neither renews nor releases: the lease decides',
    snapshot: clusterWithLeader(),
    local: local('a', pgPrimary({ running: false, writable: false, unresponsive: true })),
    actions: [],
    message: /^not renewing the lease: PostgreSQL on a did not answer in time; if it stays silent the lease lapses and b can take over$/,
  },
  {
    name: 'the leader with no status at all (the read timed out) does not release the key either',
    snapshot: clusterWithLeader(),
    local: local('a', null),
    actions: [],
    message: /^not renewing the lease: PostgreSQL on a did not answer in time/,
  },
  {
    name: 'a replica whose PostgreSQL did not answer waits',
    snapshot: clusterWithLeader(),
    local: local('b', pgReplica({ running: false, unresponsive: true })),
    actions: [],
    message: /^no action: PostgreSQL on b did not answer in time; the leader is a$/,
  },
  {
    name: 'a stopped replica is started again as a standby of the leader',
    snapshot: clusterWithLeader(),
    local: local('b', pgReplica({ running: false })),
    actions: [{ kind: 'follow', leader: 'a' }],
    message: /^starting as a replica of a: PostgreSQL is not running on b$/,
  },
  {
    name: 'a stopped former primary (a demotion that failed half-way) is rewound and started as a standby',
    snapshot: clusterWithLeader({ leader: 'b' }),
    local: local('a', pgPrimary({ running: false, writable: false })),
    actions: [{ kind: 'demote-to-replica', leader: 'b', rewind: true }],
    message: /^starting as a replica of b: PostgreSQL is not running on a, a former primary: rewinding if diverged$/,
  },
  {
    name: 'a stopped node with slow work in progress waits for it',
    snapshot: clusterWithLeader(),
    local: local('b', pgReplica({ running: false }), { busy: 'following a' }),
    actions: [],
    message: /^no action: I am b, the leader is a; following a in progress$/,
  },
  {
    name: 'the leader whose PostgreSQL is stopped keeps the key and starts it when no other member can take over',
    snapshot: clusterWithLeader({ members: [primaryRecord('a'), member('b', { healthy: false }), member('c', { role: 'stopped', healthy: false })] }),
    local: local('a', pgPrimary({ running: false, writable: false })),
    actions: ['renew', { kind: 'start' }],
    message: /^PostgreSQL is not running on a; keeping the leader key and starting it, no other member can take over \(b: unhealthy; c: PostgreSQL is not running\)$/,
  },
  {
    name: 'no leader key and a stopped server: it starts as it is on disk (fenced) to report its real position, and does not race',
    snapshot: clusterWithoutLeader(),
    local: local('b', pgReplica({ running: false })),
    actions: [{ kind: 'start' }],
    message: /^starting PostgreSQL as it is on disk \(fenced\): no leader key, and a stopped server reports no position$/,
  },
  {
    name: 'no leader key and a silent server: nothing to start, no race',
    snapshot: clusterWithoutLeader(),
    local: local('b', null),
    actions: [],
    message: /^no action: not racing for the leader key/,
  },
  {
    name: 'a new leader takes over the sync key, then names the standbys in PostgreSQL',
    snapshot: clusterWithLeader({ leader: 'b', members: [member('b', { role: 'primary', following: null }), member('c', { following: 'b' })] }),
    local: local('b', pgPrimary({ syncStandbys: [] })),
    actions: ['renew', { kind: 'set-sync-standbys', target: 'dcs', standbys: ['c'], expectedRevision: 20 }, { kind: 'set-sync-standbys', target: 'postgres', standbys: ['c'] }],
    message: /^no action: I am b, the leader with the lock; taking over the sync key with c; synchronous_standby_names = ANY 1 \(c\)$/,
  },
  {
    name: 'a new leader names a standby only once it holds everything up to the promotion point',
    snapshot: clusterWithLeader({ leader: 'b', members: [member('b', { role: 'primary', following: null, timeline: 2 }), member('c', { following: 'b', lsn: 990 })] }),
    local: local('b', pgPrimary({ syncStandbys: [], timeline: 2, timelineStartLsn: 1000 })),
    actions: ['renew', { kind: 'set-sync-standbys', target: 'dcs', standbys: [], expectedRevision: 20 }],
    message: /^no action: I am b, the leader with the lock; taking over the sync key with no standby$/,
  },
  {
    name: 'a standby leaves synchronous_standby_names before the sync key',
    snapshot: clusterWithLeader({ members: [primaryRecord('a'), member('b'), member('c', { healthy: false })] }),
    local: local('a', pgPrimary()),
    actions: ['renew', { kind: 'set-sync-standbys', target: 'postgres', standbys: ['b'] }],
    message: /synchronous_standby_names = ANY 1 \(b\)$/,
  },
  {
    name: '… and leaves the sync key only once the remaining standby reached the switch position',
    snapshot: clusterWithLeader({ members: [primaryRecord('a'), member('b', { lsn: 400 }), member('c', { healthy: false })] }),
    local: local('a', pgPrimary({ syncStandbys: ['b'], syncChangedAtLsn: 500 })),
    actions: ['renew'],
    message: /keeping c in the sync key until b reach 0\/1F4$/,
  },
  {
    name: 'asynchronous mode: a replica lagging more than maximumLagOnFailover does not race',
    snapshot: clusterWithoutLeader({ members: [member('b', { revision: 60, lsn: 800 })], optime: { lsn: 1000, timeline: 1 } }),
    local: local('b', pgReplica({ lsn: 800 })),
    config: asyncConfig,
    actions: [],
    message: /^no action: not racing for the leader key: lagging 200 bytes behind the last leader position \(maximumLagOnFailover 100\)$/,
  },
]

for (const row of rows) {
  test(`decide: ${row.name}`, () => {
    const decision = decide(row.snapshot, row.local, row.now ?? NOW, row.config ?? config)
    const expected = row.actions
    const actual = decision.actions.map((a, i) => (typeof row.actions[i] === 'string' ? a.kind : a))
    assert.deepEqual(actual, expected, decision.message)
    assert.match(decision.message, row.message)
    assert.equal(decision.retryAfterMs, row.retryAfterMs)
  })
}

test('decide: never promotes or unfences without holding or acquiring the key', () => {
  for (const row of rows) {
    const decision = decide(row.snapshot, row.local, row.now ?? NOW, row.config ?? config)
    const kinds = decision.actions.map((a) => a.kind)
    const holds = row.snapshot?.leader?.name === row.local.name
    if (!holds && (kinds.includes('promote') || kinds.includes('unfence'))) {
      assert.ok(kinds.indexOf('acquire') >= 0 && kinds.indexOf('acquire') < Math.min(...(['promote', 'unfence'] as const).map((k) => kinds.indexOf(k)).filter((i) => i >= 0)), row.name)
    }
  }
})

test('elect: names a reason for every member left out', () => {
  const snapshot = clusterWithoutLeader({
    sync: { standbys: ['b', 'c'] },
    members: [member('b', { revision: 60, timeline: 0 }), member('c', { revision: 60, healthy: false }), member('d', { revision: 60 }), member('e', { revision: 40 })],
  })
  const election = elect(snapshot, { name: 'f', status: { ...member('f'), role: 'stopped' } }, 55, config)
  assert.equal(election.winner, null)
  assert.deepEqual(election.excluded, [
    { name: 'b', reason: 'no timeline information' },
    { name: 'c', reason: 'unhealthy' },
    { name: 'd', reason: 'not in the sync set' },
    { name: 'e', reason: 'no report since the leader key vanished' },
    { name: 'f', reason: 'PostgreSQL is not running' },
  ])
})

test('elect: a sync standby that reports no running PostgreSQL blocks the others — its last position may be behind what it flushed', () => {
  const snapshot = clusterWithoutLeader({ members: [member('b', { revision: 60, lsn: 2000 }), member('c', { revision: 60, role: 'stopped', healthy: false, lsn: 0 })] })
  const election = elect(snapshot, { name: 'b', status: member('b', { lsn: 2000 }) }, 55, config)
  assert.equal(election.winner, null)
  assert.deepEqual(election.excluded, [
    { name: 'b', reason: 'sync standby c reports no running PostgreSQL, so no position, and may hold acknowledged commits' },
    { name: 'c', reason: 'PostgreSQL is not running' },
  ])
  const running = clusterWithoutLeader({ members: [member('b', { revision: 60, lsn: 2000 }), member('c', { revision: 60, lsn: 1500 })] })
  assert.equal(elect(running, { name: 'b', status: member('b', { lsn: 2000 }) }, 55, config).winner, 'b')
})

test('elect: a member behind the cluster timeline is excluded', () => {
  const snapshot = clusterWithoutLeader({ optime: { lsn: 1000, timeline: 2 }, members: [member('b', { revision: 60, timeline: 2 }), member('c', { revision: 60, lsn: 5000 })] })
  const election = elect(snapshot, { name: 'b', status: member('b', { timeline: 2 }) }, 55, asyncConfig)
  assert.equal(election.winner, 'b')
  assert.deepEqual(election.excluded, [{ name: 'c', reason: 'timeline 1 is behind the cluster timeline 2' }])
})
