import assert from 'node:assert/strict'
import { test } from 'node:test'
import { elect } from '../../src/ha/candidates.js'
import { haConfig } from '../../src/ha/config.js'
import { syncStep } from '../../src/ha/sync.js'
import { clusterWithLeader, clusterWithoutLeader, member, pgPrimary, primaryRecord } from '../helpers/ha-cluster.js'

// Non-strict synchronous mode, the two-node case of level 4: a leader whose only standby died must
// not block writes for good, and the standby it stopped waiting for must not be promotable.

test('non-strict: the only standby gone, the sync key is emptied before PostgreSQL stops waiting', () => {
  const snapshot = clusterWithLeader({ members: [primaryRecord('a')], sync: { standbys: ['b'] } })
  const step = syncStep(snapshot, 'a', pgPrimary({ syncStandbys: ['b'] }), false)
  assert.deepEqual(step?.actions, [
    { kind: 'set-sync-standbys', target: 'dcs', standbys: [], expectedRevision: 20 },
    { kind: 'set-sync-standbys', target: 'postgres', standbys: [] },
  ])
  assert.match(step?.note ?? '', /no healthy standby: emptying the sync key/)
})

test('non-strict: a new leader whose PostgreSQL waits for the name that never connects turns synchronous replication off', () => {
  const snapshot = clusterWithLeader({ leader: 'b', members: [member('b', { role: 'primary', following: null })], sync: { standbys: [] } })
  const step = syncStep(snapshot, 'b', pgPrimary({ syncStandbys: [], syncOff: false }), false)
  assert.deepEqual(step?.actions, [
    { kind: 'set-sync-standbys', target: 'dcs', standbys: [], expectedRevision: 20 },
    { kind: 'set-sync-standbys', target: 'postgres', standbys: [] },
  ])
  assert.equal(syncStep(clusterWithLeader({ leader: 'b', members: [member('b', { role: 'primary', following: null })], sync: { leader: 'b', standbys: [] } }), 'b', pgPrimary({ syncStandbys: [], syncOff: true }), false), null)
})

test('strict: the only standby gone, the key keeps it and commits keep waiting', () => {
  const snapshot = clusterWithLeader({ members: [primaryRecord('a')], sync: { standbys: ['b'] } })
  const step = syncStep(snapshot, 'a', pgPrimary({ syncStandbys: ['b'], syncChangedAtLsn: 500 }), true)
  assert.deepEqual(step?.actions, [{ kind: 'set-sync-standbys', target: 'postgres', standbys: [] }])
})

test('non-strict: with the key empty, a standby left out of it is not promotable', () => {
  const snapshot = clusterWithoutLeader({ members: [member('b', { revision: 60 })], sync: { standbys: [] } })
  const election = elect(snapshot, { name: 'b', status: member('b') }, 55, haConfig())
  assert.equal(election.winner, null)
  assert.deepEqual(election.excluded, [{ name: 'b', reason: 'not in the sync set' }])
})

test('non-strict: a returning standby is named in PostgreSQL first, in the key only once caught up', () => {
  const back = clusterWithLeader({ members: [primaryRecord('a'), member('b', { lsn: 900 })], sync: { standbys: [] } })
  const first = syncStep(back, 'a', pgPrimary({ syncStandbys: [], syncChangedAtLsn: 0 }), false)
  assert.deepEqual(first?.actions, [{ kind: 'set-sync-standbys', target: 'postgres', standbys: ['b'] }])

  const waiting = syncStep(back, 'a', pgPrimary({ syncStandbys: ['b'], syncChangedAtLsn: 1000 }), false)
  assert.deepEqual(waiting?.actions, [])
  assert.match(waiting?.note ?? '', /keeping the sync key empty until b reach/)

  const caught = clusterWithLeader({ members: [primaryRecord('a'), member('b', { lsn: 1000 })], sync: { standbys: [] } })
  const added = syncStep(caught, 'a', pgPrimary({ syncStandbys: ['b'], syncChangedAtLsn: 1000 }), false)
  assert.deepEqual(added?.actions, [{ kind: 'set-sync-standbys', target: 'dcs', standbys: ['b'], expectedRevision: 20 }])
})

test('non-strict: a returning standby that does not follow this leader yet is not named (it would block every commit)', () => {
  const snapshot = clusterWithLeader({ members: [primaryRecord('a'), member('b', { following: null })], sync: { standbys: [] } })
  assert.deepEqual(syncStep(snapshot, 'a', pgPrimary({ syncStandbys: [], syncOff: true, syncChangedAtLsn: 0 }), false)?.actions, [])
})

test('non-strict: after an agent restart the switch position is unknown, so the standby is named again to learn it', () => {
  const snapshot = clusterWithLeader({ members: [primaryRecord('a'), member('b', { lsn: 5000 })], sync: { standbys: [] } })
  const step = syncStep(snapshot, 'a', pgPrimary({ syncStandbys: ['b'], syncChangedAtLsn: 0 }), false)
  assert.deepEqual(step?.actions, [{ kind: 'set-sync-standbys', target: 'postgres', standbys: ['b'] }])
})

test('non-strict: a standby still catching up to the promotion point is waited for, not dropped', () => {
  const snapshot = clusterWithLeader({ leader: 'b', members: [member('b', { role: 'primary', following: null, timeline: 2 }), member('c', { following: 'b', lsn: 990 })] })
  const step = syncStep(snapshot, 'b', pgPrimary({ syncStandbys: [], timeline: 2, timelineStartLsn: 1000 }), false)
  assert.deepEqual(step?.actions, [{ kind: 'set-sync-standbys', target: 'dcs', standbys: [], expectedRevision: 20 }])
  assert.match(step?.note ?? '', /taking over the sync key/)
})
