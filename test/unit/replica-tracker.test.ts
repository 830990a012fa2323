import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatLsn } from '../../src/data/lsn.js'
import { ReplicaTracker } from '../../src/data/replica-tracker.js'
import type { SqlQueryable, SqlResult } from '../../src/data/sql-pool.js'
import { sleep, waitUntil } from '../helpers/wait.js'

/** A replica whose replay position the test moves; it counts the tracker's polls. */
class CountingReplica implements SqlQueryable {
  polls = 0
  replayed = 100n
  async query<Row> (): Promise<SqlResult<Row>> {
    this.polls++
    return { rows: [{ recovery: true, lsn: formatLsn(this.replayed), timeline: 1 }] as Row[], rowCount: 1 }
  }
}


test('a tracker nobody waits on polls at the idle interval, not the fast one', async () => {
  const replica = new CountingReplica()
  const tracker = new ReplicaTracker(replica, { fastMs: 5, idleMs: 60_000 })
  tracker.start()
  await sleep(300)
  tracker.stop()
  // The first poll at start, and no other within the idle interval (at 5 ms it would be ~60).
  assert.equal(replica.polls, 1)
  assert.ok(tracker.hasReplayed(100n))
})

test('a wanted position makes the tracker poll fast until it sees it, then idle again', async () => {
  const replica = new CountingReplica()
  const tracker = new ReplicaTracker(replica, { fastMs: 5, idleMs: 60_000 })
  tracker.start()
  assert.ok(await waitUntil(async () => replica.polls === 1, 2000, 5))
  tracker.want(200n, 1)
  assert.ok(await waitUntil(async () => replica.polls >= 4, 5000, 5), 'polls fast while the position is wanted')
  assert.equal(tracker.hasReplayed(200n), false)
  replica.replayed = 250n
  assert.ok(await waitUntil(async () => tracker.hasReplayed(200n), 5000, 5), 'sees the replayed position')
  const seen = replica.polls
  await sleep(300)
  tracker.stop()
  assert.ok(replica.polls <= seen + 1, `back at the idle interval once seen (${replica.polls - seen} more polls)`)
})

test('a stopped tracker polls no more, even when wanted', async () => {
  const replica = new CountingReplica()
  const tracker = new ReplicaTracker(replica, { fastMs: 5, idleMs: 5 })
  tracker.start()
  assert.ok(await waitUntil(async () => replica.polls >= 2, 2000, 5))
  tracker.stop()
  await sleep(20)
  const seen = replica.polls
  tracker.want(1000n, 1)
  await sleep(100)
  assert.equal(replica.polls, seen)
})
