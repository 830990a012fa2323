import assert from 'node:assert/strict'
import { test, after } from 'node:test'
import { LeastConnections, RoundRobin } from '../../src/gateway/balancers.js'
import { Upstream } from '../../src/gateway/upstream.js'

const upstreams = ['a', 'b', 'c'].map((id) => new Upstream(id, `http://127.0.0.1:1`))
after(async () => { await Promise.all(upstreams.map(async (u) => { await u.close() })) })

function reset (): void {
  for (const u of upstreams) {
    u.healthy = true
    u.active = 0
  }
}

test('round robin visits every healthy instance equally and skips unhealthy ones', () => {
  reset()
  const rr = new RoundRobin()
  const counts: Record<string, number> = {}
  for (let i = 0; i < 300; i++) {
    const id = rr.pick(upstreams)?.id as string
    counts[id] = (counts[id] ?? 0) + 1
  }
  assert.deepEqual(counts, { a: 100, b: 100, c: 100 })
  ;(upstreams[1] as Upstream).healthy = false
  const picked = new Set(Array.from({ length: 10 }, () => rr.pick(upstreams)?.id))
  assert.deepEqual([...picked].sort(), ['a', 'c'])
  assert.equal(rr.pick(upstreams, upstreams[0])?.id, 'c', 'exclude skips the instance that just failed')
  for (const u of upstreams) u.healthy = false
  assert.equal(rr.pick(upstreams), undefined)
})

test('least connections picks the instance with the fewest requests in flight', () => {
  reset()
  const lc = new LeastConnections()
  ;(upstreams[0] as Upstream).active = 5
  ;(upstreams[1] as Upstream).active = 1
  ;(upstreams[2] as Upstream).active = 3
  assert.equal(lc.pick(upstreams)?.id, 'b')
  ;(upstreams[1] as Upstream).healthy = false
  assert.equal(lc.pick(upstreams)?.id, 'c')
  // Ties rotate, so idle instances share the load.
  reset()
  const seen = new Set(Array.from({ length: 6 }, () => lc.pick(upstreams)?.id))
  assert.equal(seen.size, 3)
})

test('health: fall failures take an instance out, rise successes bring it back', () => {
  reset()
  const u = upstreams[0] as Upstream
  const config = { rise: 2, fall: 3 }
  u.recordCheck(false, config)
  u.recordCheck(false, config)
  assert.equal(u.healthy, true)
  u.recordCheck(false, config)
  assert.equal(u.healthy, false)
  u.recordCheck(true, config)
  assert.equal(u.healthy, false)
  u.recordCheck(false, config)
  u.recordCheck(true, config)
  u.recordCheck(true, config)
  assert.equal(u.healthy, true)
  u.markDown()
  assert.equal(u.healthy, false)
})
