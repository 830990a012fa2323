import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ManualClock } from '../../src/control/clock.js'
import { HaAgent, type HaEvent } from '../../src/ha/agent.js'
import { haConfig } from '../../src/ha/config.js'
import { MemoryDcsStore } from '../../src/ha/dcs/memory.js'
import type { LocalPostgres, PostgresStatus } from '../../src/ha/local.js'
import { pgReplica } from '../helpers/ha-cluster.js'

/** A LocalPostgres that records calls; promote takes `promoteMs` on the clock. */
class FakePostgres implements LocalPostgres {
  state: PostgresStatus = pgReplica({ following: null })
  writableUntil = -Infinity
  readonly calls: string[] = []
  constructor (private readonly clock: ManualClock, private readonly promoteMs: number) {}
  async status (): Promise<PostgresStatus> { return { ...this.state, writable: this.state.role === 'primary' && this.clock.now() < this.writableUntil } }
  async promote (): Promise<void> {
    this.calls.push('promote')
    await this.clock.sleep(this.promoteMs)
    this.state = { ...this.state, role: 'primary', timeline: 2, following: null }
  }

  async fence (): Promise<void> { this.calls.push('fence'); this.writableUntil = -Infinity }
  async unfence (until: number): Promise<void> { this.calls.push(`unfence until ${until}`); this.writableUntil = until }
  async keepWritable (until: number): Promise<void> { if (this.clock.now() < this.writableUntil) this.writableUntil = until }
  async follow (leader: string): Promise<void> { this.calls.push(`follow ${leader}`); this.state = { ...this.state, following: leader } }
  async rewind (leader: string): Promise<void> { this.calls.push(`rewind ${leader}`) }
  async start (): Promise<void> { this.calls.push('start'); this.state = { ...this.state, running: true } }
  async setSyncStandbys (names: readonly string[]): Promise<void> { this.calls.push(`sync ${names.join(',')}`) }
}

test('agent: a slow promotion runs asynchronously while the loop keeps renewing the lease', async () => {
  const clock = new ManualClock()
  const store = new MemoryDcsStore(clock)
  const pg = new FakePostgres(clock, 10_000)
  const events: HaEvent[] = []
  const agent = new HaAgent({ name: 'b', dcs: store.client('b'), postgres: pg, clock, config: haConfig(), onEvent: (e) => events.push(e) })
  agent.start()
  await clock.advance(0)
  assert.match(events[0]?.message ?? '', /^racing for the leader key: I am b, the healthiest member/)
  assert.deepEqual(pg.calls, ['promote'])
  await clock.advance(9000) // three times the TTL: the key survives only if renewals went on
  assert.equal(store.currentLeader()?.name, 'b')
  assert.ok(events.some((e) => /promotion in progress/.test(e.message) && e.actions.includes('renew')))
  await clock.advance(1000)
  assert.ok(events.some((e) => e.message === 'promotion finished'))
  const unfence = pg.calls.find((c) => c.startsWith('unfence'))
  assert.ok(unfence !== undefined, 'unfenced right after the promotion, without waiting a loop')
  assert.equal(Number(unfence.split(' ').at(-1)), 10_000 + 2500, 'writable until the renewal that preceded it + ttl - safetyMargin')
  assert.equal((await pg.status()).writable, true)
  await agent.stop()
})

test('agent: a leader that cannot reach the DCS fences itself, and unfences once it renews again', async () => {
  const clock = new ManualClock()
  const store = new MemoryDcsStore(clock)
  const pg = new FakePostgres(clock, 0)
  const events: HaEvent[] = []
  const agent = new HaAgent({ name: 'a', dcs: store.client('a'), postgres: pg, clock, config: haConfig(), onEvent: (e) => events.push(e) })
  agent.start()
  await clock.advance(1000)
  assert.equal((await pg.status()).writable, true)
  store.setFaults('a', { unreachable: true })
  await clock.advance(1000)
  assert.equal((await pg.status()).writable, false)
  assert.ok(events.some((e) => /^fenced: DCS unreachable/.test(e.message)))
  store.setFaults('a', { unreachable: false })
  await clock.advance(1000)
  assert.equal(store.currentLeader()?.name, 'a')
  assert.equal((await pg.status()).writable, true)
  await agent.stop()
})

test('agent: a follower wakes on a leader change instead of waiting out its loop', async () => {
  const clock = new ManualClock()
  const store = new MemoryDcsStore(clock)
  const pg = new FakePostgres(clock, 0)
  const config = haConfig({ loopWaitMs: 1000, retryTimeoutMs: 500, ttlMs: 3000, safetyMarginMs: 500 })
  await store.client('a').attemptToAcquireLeader('a', 3000, null)
  const events: string[] = []
  const withEvents = new HaAgent({ name: 'c', dcs: store.client('c'), postgres: pg, clock, config, onEvent: (e) => events.push(`${e.at} ${e.message}`) })
  pg.state = pgReplica({ following: 'a' })
  withEvents.start()
  await clock.advance(100)
  await store.client('a').deleteLeader('a')
  await store.client('b').attemptToAcquireLeader('b', 3000, store.snapshot().termRevision)
  await clock.advance(10)
  assert.ok(events.includes('110 following the new leader b: I am c, a replica'), events.join('\n')) // not at 1000
  await withEvents.stop()
})

test('agent: a renewal that comes late says where the cycle spent its time', async () => {
  const clock = new ManualClock()
  const store = new MemoryDcsStore(clock)
  const pg = new FakePostgres(clock, 0)
  const events: HaEvent[] = []
  const config = haConfig({ loopWaitMs: 500, retryTimeoutMs: 1000, ttlMs: 5000, safetyMarginMs: 500 })
  const agent = new HaAgent({ name: 'a', dcs: store.client('a'), postgres: pg, clock, config, onEvent: (e) => events.push(e) })
  agent.start()
  await clock.advance(3000)
  assert.equal(store.currentLeader()?.name, 'a')
  assert.ok(!events.some((e) => /late/.test(e.message)), 'on time: nothing said')
  // Every DCS request now takes 900 ms: member report, snapshot and renewal, 2.7 s a cycle.
  store.setFaults('a', { latencyMs: 900 })
  await clock.advance(8000)
  const late = events.find((e) => /^lease renewal late/.test(e.message))
  assert.ok(late !== undefined, events.map((e) => e.message).join('\n'))
  assert.match(late.message, /^lease renewal late: (\d+) ms after the previous one \(loop wait 500 ms, writable for 4500 ms after each\); pause before the cycle 500 ms, postgres status 0 ms, member report 900 ms, snapshot 900 ms, renewal 900 ms$/)
  assert.ok(Number(/late: (\d+)/.exec(late.message)?.[1]) > 1500)
  assert.equal(late.outcome, 'ok', 'within the writable window')
  // The loop is inside a slow request: let the clock run it out.
  const stopped = agent.stop()
  await clock.advance(5000)
  await stopped
})

test('agent: recovery work that keeps failing is retried with a pause that doubles, up to 10 × loopWait, and resets on success', async () => {
  const clock = new ManualClock()
  const store = new MemoryDcsStore(clock)
  // a leads; b's PostgreSQL is stopped and its start fails until told otherwise.
  await store.client('a').attemptToAcquireLeader('a', 600_000, null)
  class Failing extends FakePostgres {
    failing = true
    starts: number[] = []
    override async follow (leader: string): Promise<void> {
      this.starts.push(clock.now())
      if (this.failing) throw new Error('could not start')
      await super.follow(leader)
    }
  }
  const pg = new Failing(clock, 0)
  pg.state = pgReplica({ running: false, following: null })
  const events: HaEvent[] = []
  const agent = new HaAgent({ name: 'b', dcs: store.client('b'), postgres: pg, clock, config: haConfig(), onEvent: (e) => events.push(e) })
  agent.start()
  for (let i = 0; i < 40; i++) await clock.advance(500)
  const gaps = pg.starts.slice(1).map((t, i) => t - (pg.starts[i] as number))
  assert.ok(pg.starts.length >= 4, `${pg.starts.length} tries in 20 s`)
  assert.ok(pg.starts.length <= 10, `${pg.starts.length} tries in 20 s: not one per cycle`)
  assert.ok(gaps.every((g, i) => i === 0 || g >= (gaps[i - 1] as number)), `pauses never shrink while it fails: ${gaps.join(', ')}`)
  assert.ok(Math.max(...gaps) <= 5500, `capped near 10 × loopWait: ${gaps.join(', ')}`)
  assert.ok(events.some((e) => /^following a waits \d+ ms more: it failed \d+ times in a row$/.test(e.outcome)))
  pg.failing = false
  pg.state = { ...pg.state, running: true }
  await clock.advance(6000)
  assert.equal(pg.state.following, 'a', 'it follows the leader once the work succeeds')
  await agent.stop()
})
