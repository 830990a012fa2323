import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ManualClock } from '../../src/control/clock.js'
import { haConfig } from '../../src/ha/config.js'
import { MemoryDcsStore } from '../../src/ha/dcs/memory.js'
import type { LeaderRecord, MemberStatus } from '../../src/ha/dcs/port.js'

const status: MemberStatus = { role: 'replica', lsn: 10, timeline: 1, healthy: true, sync: false, following: 'a' }

test('memory DCS: the leader key is created only if absent and expires with its lease', async () => {
  const clock = new ManualClock()
  const store = new MemoryDcsStore(clock)
  const a = store.client('a')
  const b = store.client('b')
  assert.equal(await a.attemptToAcquireLeader('a', 3000, null), true)
  assert.equal(await b.attemptToAcquireLeader('b', 3000, null), false)
  await clock.advance(2000)
  assert.equal(await a.updateLeader('a', { lsn: 100, timeline: 1 }), true)
  await clock.advance(2999)
  assert.equal((await b.getCluster()).leader?.name, 'a')
  await clock.advance(1)
  const snapshot = await b.getCluster()
  assert.equal(snapshot.leader, null)
  assert.deepEqual(snapshot.optime, { lsn: 100, timeline: 1 }, 'the optime outlives the leader key')
  assert.ok(snapshot.termRevision !== null && snapshot.termRevision > 0, 'and so does the term revision')
  assert.equal(await a.updateLeader('a'), false, 'an expired lease cannot be renewed')
  assert.equal(await b.attemptToAcquireLeader('b', 3000, null), false, 'a term began since a snapshot without one')
  assert.equal(await b.attemptToAcquireLeader('b', 3000, snapshot.termRevision), true)
  assert.equal(await a.updateLeader('a'), false, 'renewal never rebinds a key that names someone else')
  assert.equal(await a.deleteLeader('a'), false)
  assert.equal(await b.deleteLeader('b'), true)
  assert.equal((await a.getCluster()).leader, null)
})

test('memory DCS: member records live on their own lease; revisions grow with every write', async () => {
  const clock = new ManualClock()
  const store = new MemoryDcsStore(clock)
  const b = store.client('b')
  await b.touchMember('b', status, 1000)
  const first = await b.getCluster()
  assert.equal(first.members[0]?.name, 'b')
  await clock.advance(500)
  await b.touchMember('b', { ...status, lsn: 20 }, 1000)
  const second = await b.getCluster()
  assert.ok((second.members[0]?.revision ?? 0) > (first.members[0]?.revision ?? 0))
  assert.ok(Object.isFrozen(second) && Object.isFrozen(second.members))
  await clock.advance(1000)
  assert.deepEqual((await b.getCluster()).members, [])
})

test('memory DCS: sync and switchover keys are compare-and-set by revision', async () => {
  const store = new MemoryDcsStore(new ManualClock())
  const a = store.client('a')
  assert.equal(await a.setSyncState({ leader: 'a', standbys: ['c', 'b'] }, null), true)
  const sync = (await a.getCluster()).sync
  assert.deepEqual(sync.standbys, ['b', 'c'])
  assert.equal(await a.setSyncState({ leader: 'a', standbys: ['b'] }, null), false, 'only if absent')
  assert.equal(await a.setSyncState({ leader: 'a', standbys: ['b'] }, sync.revision), true)
  assert.equal(await a.setSyncState({ leader: 'a', standbys: [] }, sync.revision), false, 'stale revision')
  assert.equal(await a.setSwitchover({ from: 'a', to: 'b' }, null), true)
  const request = (await a.getCluster()).switchover
  assert.equal(request?.to, 'b')
  assert.equal(await a.setSwitchover(null, (request?.revision ?? 0) + 1), false)
  assert.equal(await a.setSwitchover(null, request?.revision ?? null), true)
  assert.equal((await a.getCluster()).switchover, null)
})

test('memory DCS: watchers hear the leader key change, expire and vanish; an unreachable member hears nothing', async () => {
  const clock = new ManualClock()
  const store = new MemoryDcsStore(clock)
  const heardByB: Array<string | null> = []
  const heardByC: Array<string | null> = []
  store.client('b').watchLeader((l: LeaderRecord | null) => heardByB.push(l?.name ?? null))
  store.client('c').watchLeader((l: LeaderRecord | null) => heardByC.push(l?.name ?? null))
  store.setFaults('c', { unreachable: true })
  await store.client('a').attemptToAcquireLeader('a', 1000, null)
  await clock.advance(1000)
  store.tick()
  await clock.advance(0)
  assert.deepEqual(heardByB, ['a', null])
  assert.deepEqual(heardByC, [])
})

test('memory DCS: faults — unreachable fails, slow takes its time, lost replies apply but fail', async () => {
  const clock = new ManualClock()
  const store = new MemoryDcsStore(clock)
  const a = store.client('a')
  store.setFaults('a', { unreachable: true })
  await assert.rejects(a.getCluster(), { code: 'OUTGROW_DCS_UNAVAILABLE' })
  store.setFaults('a', { unreachable: false, latencyMs: 400 })
  let done = false
  const pending = a.attemptToAcquireLeader('a', 3000, null).then((ok) => { done = ok })
  await clock.advance(399)
  assert.equal(done, false)
  await clock.advance(1)
  await pending
  assert.equal(done, true)
  store.healAll()
  store.setFaults('a', { loseReplies: true })
  await assert.rejects(a.deleteLeader('a'), { code: 'OUTGROW_DCS_UNAVAILABLE' })
  assert.equal(store.currentLeader(), null, 'the request was applied although its reply was lost')
})

test('HA config: defaults hold the timing invariants; breaking one names the field', () => {
  const config = haConfig()
  assert.equal(config.ttlMs, 3000)
  assert.ok(config.loopWaitMs + 2 * config.retryTimeoutMs <= config.ttlMs - config.safetyMarginMs)
  const fails = (input: Parameters<typeof haConfig>[0], expected: RegExp): void => {
    assert.throws(() => haConfig(input), (err: { issues: Array<{ path: string[], message: string }> }) =>
      err.issues.some((issue) => expected.test(`${issue.path.join('.')}: ${issue.message}`)))
  }
  fails({ loopWaitMs: 1000 }, /^loopWaitMs: loopWaitMs \+ 2 \* retryTimeoutMs \(3000\) must be <= ttlMs - safetyMarginMs \(2500\)/)
  fails({ safetyMarginMs: 100, loopWaitMs: 400, retryTimeoutMs: 800 }, /^safetyMarginMs: .*\(260\)/)
  fails({ ttlMs: 500 }, /^ttlMs: /)
})
