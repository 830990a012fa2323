import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import type { Dcs, LeaderRecord, MemberStatus } from '../../src/ha/dcs/port.js'

/**
 * What the HA agent relies on from any DCS, run against the in-memory store (unit) and etcd
 * (integration). Each test works on a fresh cluster: `fresh()` returns a view per member name.
 */
export interface DcsHarness {
  /** A fresh, empty cluster; `member(name)` is the DCS as that member's agent holds it. */
  fresh(): Promise<{ member: (name: string) => Dcs }>
  /** Lease length the suite uses (etcd: whole seconds, at least 2 s). */
  readonly ttlMs: number
  /** Lets `ms` pass on the store's clock (real time for etcd) and lets expirations happen. */
  pass(ms: number): Promise<void>
  /** How late after its TTL a lease may expire on this store (etcd checks leases periodically). */
  readonly expirySlackMs: number
  close(): Promise<void>
}

const status: MemberStatus = { role: 'replica', lsn: 10, timeline: 1, healthy: true, sync: false, following: 'a' }

export function dcsConformance (name: string, harness: DcsHarness): void {
  describe(`DCS conformance: ${name}`, () => {
    after(async () => { await harness.close() })

    it('creates the leader key only if absent and only in the term the caller saw', async () => {
      const { member } = await harness.fresh()
      const a = member('a')
      const b = member('b')
      const empty = await a.getCluster()
      assert.equal(empty.leader, null)
      assert.equal(empty.termRevision, null)
      const [wonA, wonB] = await Promise.all([a.attemptToAcquireLeader('a', harness.ttlMs, null), b.attemptToAcquireLeader('b', harness.ttlMs, null)])
      assert.equal(Number(wonA) + Number(wonB), 1, 'exactly one of two racing members wins')
      const winner = wonA ? a : b
      const winnerName = wonA ? 'a' : 'b'
      const snapshot = await a.getCluster()
      assert.equal(snapshot.leader?.name, winnerName)
      assert.equal(snapshot.termRevision, snapshot.leader?.createRevision, 'the term begins with the key')
      assert.ok(Object.isFrozen(snapshot) && Object.isFrozen(snapshot.leader))
      assert.equal(await winner.deleteLeader(wonA ? 'b' : 'a'), false, 'release names the holder')
      assert.equal(await winner.deleteLeader(winnerName, { lsn: 300, timeline: 1 }), true)
      const after = await b.getCluster()
      assert.equal(after.leader, null)
      assert.equal(after.termRevision, snapshot.termRevision, 'the term revision outlives the key')
      assert.deepEqual(after.optime, { lsn: 300, timeline: 1 })
      assert.equal(await b.attemptToAcquireLeader('b', harness.ttlMs, null), false, 'a term began since a snapshot without one')
      assert.equal(await b.attemptToAcquireLeader('b', harness.ttlMs, after.termRevision), true)
      assert.ok(((await b.getCluster()).termRevision ?? 0) > (after.termRevision ?? 0), 'a new term')
    })

    it('renews the leader while the key names the member; the key expires with its lease', async () => {
      const { member } = await harness.fresh()
      const a = member('a')
      const b = member('b')
      assert.equal(await a.attemptToAcquireLeader('a', harness.ttlMs, null), true)
      assert.equal(await b.updateLeader('b'), false, 'renewal never takes a key that names someone else')
      for (let i = 0; i < 3; i++) {
        await harness.pass(harness.ttlMs / 2)
        assert.equal(await a.updateLeader('a', { lsn: 100 + i, timeline: 1 }), true, `renewal ${i}`)
      }
      const renewed = await b.getCluster()
      assert.equal(renewed.leader?.name, 'a', 'renewals kept the key past its first TTL')
      assert.deepEqual(renewed.optime, { lsn: 102, timeline: 1 })
      await harness.pass(harness.ttlMs + harness.expirySlackMs)
      const expired = await b.getCluster()
      assert.equal(expired.leader, null, 'gone after a TTL without renewal')
      assert.deepEqual(expired.optime, { lsn: 102, timeline: 1 }, 'the optime outlives the key')
      assert.equal(await a.updateLeader('a'), false, 'an expired lease cannot be renewed')
      assert.equal(await b.attemptToAcquireLeader('b', harness.ttlMs, expired.termRevision), true)
      assert.equal(await a.updateLeader('a'), false, 'nor does the former leader rebind the new one')
      assert.equal((await a.getCluster()).leader?.name, 'b')
    })

    it('keeps member records on their own leases, newer writes at higher revisions', async () => {
      const { member } = await harness.fresh()
      const b = member('b')
      const c = member('c')
      await b.touchMember('b', status, harness.ttlMs)
      await c.touchMember('c', { ...status, lsn: 5 }, harness.ttlMs)
      const first = await b.getCluster()
      assert.deepEqual(first.members.map((m) => [m.name, m.lsn, m.following]), [['b', 10, 'a'], ['c', 5, 'a']])
      await b.touchMember('b', { ...status, lsn: 20 }, harness.ttlMs)
      const second = await b.getCluster()
      assert.ok((second.members[0]?.revision ?? 0) > (first.members[1]?.revision ?? 0), 'a later touch has a higher revision')
      assert.ok(second.revision >= (second.members[0]?.revision ?? Infinity))
      assert.ok(Object.isFrozen(second.members) && Object.isFrozen(second.members[0]))
      for (let i = 0; i < 3; i++) {
        await harness.pass(harness.ttlMs / 2)
        await c.touchMember('c', status, harness.ttlMs)
      }
      await harness.pass(harness.expirySlackMs)
      assert.deepEqual((await c.getCluster()).members.map((m) => m.name), ['c'], 'b stopped touching and expired; c did not')
    })

    it('compare-and-sets the sync and switchover keys on their revisions', async () => {
      const { member } = await harness.fresh()
      const a = member('a')
      assert.deepEqual((await a.getCluster()).sync, { leader: null, standbys: [], revision: null })
      assert.equal(await a.setSyncState({ leader: 'a', standbys: ['c', 'b'] }, null), true)
      const sync = (await a.getCluster()).sync
      assert.deepEqual(sync.standbys, ['b', 'c'])
      assert.equal(sync.leader, 'a')
      assert.equal(await a.setSyncState({ leader: 'a', standbys: ['b'] }, null), false, 'only if absent')
      assert.equal(await a.setSyncState({ leader: 'a', standbys: ['b'] }, sync.revision), true)
      assert.equal(await a.setSyncState({ leader: 'a', standbys: [] }, sync.revision), false, 'stale revision')
      assert.equal(await a.setSwitchover({ from: 'a', to: 'b' }, null), true)
      const request = (await a.getCluster()).switchover
      assert.deepEqual([request?.from, request?.to], ['a', 'b'])
      assert.equal(await a.setSwitchover({ from: null, to: 'c' }, null), false, 'only if absent')
      assert.equal(await a.setSwitchover(null, (request?.revision ?? 0) + 1), false)
      assert.equal(await a.setSwitchover(null, request?.revision ?? null), true)
      assert.equal((await a.getCluster()).switchover, null)
    })

    it('tells watchers of the leader key being created, released and expiring', async () => {
      const { member } = await harness.fresh()
      const heard: Array<string | null> = []
      const unwatch = member('c').watchLeader((l: LeaderRecord | null) => heard.push(l?.name ?? null))
      try {
        await harness.pass(300) // the watch is confirmed asynchronously
        assert.equal(await member('a').attemptToAcquireLeader('a', harness.ttlMs, null), true)
        assert.equal(await member('a').deleteLeader('a'), true)
        const term = (await member('b').getCluster()).termRevision
        assert.equal(await member('b').attemptToAcquireLeader('b', harness.ttlMs, term), true)
        await harness.pass(harness.ttlMs + harness.expirySlackMs)
        await harness.pass(100)
        assert.deepEqual(heard, ['a', null, 'b', null])
      } finally {
        unwatch()
      }
    })
  })
}
