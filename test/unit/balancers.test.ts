import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { createBalancer, type PickContext } from '../../src/gateway/balancing/index.js'
import { ConsistentHash } from '../../src/gateway/balancing/consistent-hash.js'
import { PowerOfTwoChoices } from '../../src/gateway/balancing/least-requests.js'
import { Upstream } from '../../src/gateway/upstream.js'
import { seededRandom } from '../../src/lab/zipf.js'

const made: Upstream[] = []
after(async () => { await Promise.all(made.map(async (u) => { await u.close() })) })

function fleet (ids: string[], weights: number[] = []): Upstream[] {
  const list = ids.map((id, i) => new Upstream(id, 'http://127.0.0.1:1', { weight: weights[i] ?? 1 }))
  made.push(...list)
  return list
}

const ctx = (over: Partial<PickContext> = {}): PickContext => ({ now: Date.now(), clientIp: '10.0.0.1', hashKey: undefined, stickyId: undefined, exclude: undefined, ...over })

function counts (picks: Array<Upstream | undefined>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const p of picks) if (p !== undefined) out[p.id] = (out[p.id] ?? 0) + 1
  return out
}

/** Requests that finish after `ticks[id]` picks: a slow instance holds its requests longer. */
function simulate (balancerName: Parameters<typeof createBalancer>[0], upstreams: Upstream[], ticks: Record<string, number>, rounds: number): Record<string, number> {
  const balancer = createBalancer(balancerName)
  const finishing: Array<Array<Upstream>> = []
  const picked: Upstream[] = []
  for (let t = 0; t < rounds; t++) {
    for (const u of finishing[t] ?? []) { u.active--; u.observeLatency(ticks[u.id] as number, t) }
    const u = balancer.pick(upstreams, ctx()) as Upstream
    u.active++
    picked.push(u)
    const done = t + (ticks[u.id] as number)
    ;(finishing[done] ??= []).push(u)
  }
  for (const u of upstreams) u.active = 0
  return counts(picked)
}

describe('smooth weighted round robin', () => {
  it('interleaves by weight like nginx: 5,1,1 → a a b a c a a', () => {
    const ups = fleet(['a', 'b', 'c'], [5, 1, 1])
    const rr = createBalancer('round-robin')
    assert.deepEqual(Array.from({ length: 7 }, () => rr.pick(ups, ctx())?.id), ['a', 'a', 'b', 'a', 'c', 'a', 'a'])
    assert.deepEqual(counts(Array.from({ length: 700 }, () => rr.pick(ups, ctx()))), { a: 500, b: 100, c: 100 })
  })

  it('skips unhealthy, ejected, draining and excluded instances; none left → undefined', () => {
    const [a, b, c] = fleet(['a', 'b', 'c']) as [Upstream, Upstream, Upstream]
    const rr = createBalancer('round-robin')
    b.healthy = false
    c.ejectedUntil = Date.now() + 60_000
    assert.deepEqual(new Set(Array.from({ length: 6 }, () => rr.pick([a, b, c], ctx())?.id)), new Set(['a']))
    assert.equal(rr.pick([a, b, c], ctx({ exclude: new Set([a]) })), undefined)
    a.draining = true
    assert.equal(rr.pick([a, b, c], ctx()), undefined)
  })

  it('slow start: a returning instance gets a growing share', () => {
    const [a, b] = fleet(['a', 'b']) as [Upstream, Upstream]
    const now = Date.now()
    const slow = new Upstream('s', 'http://127.0.0.1:1', { slowStartMs: 10_000 })
    made.push(slow)
    slow.readySince = now
    assert.equal(slow.effectiveWeight(now), 0.1)
    assert.equal(slow.effectiveWeight(now + 5000), 0.5)
    assert.equal(slow.effectiveWeight(now + 20_000), 1)
    const rr = createBalancer('round-robin')
    const early = counts(Array.from({ length: 210 }, () => rr.pick([a, b, slow], ctx({ now }))))
    assert.ok((early.s ?? 0) <= 12, `ramping instance got ${early.s ?? 0} of 210`)
  })
})

describe('load-aware balancers steer away from a slow instance', () => {
  for (const name of ['least-requests', 'p2c', 'peak-ewma'] as const) {
    it(name, () => {
      const ups = fleet(['fast1', 'fast2', 'slow'])
      const got = simulate(name, ups, { fast1: 1, fast2: 1, slow: 20 }, 3000)
      assert.ok((got.slow ?? 0) < 3000 / 6, `${name}: slow got ${got.slow ?? 0} of 3000 (round robin would give 1000)`)
    })
  }

  it('peak EWMA prefers the fast instance when both are idle', () => {
    const [fast, slow] = fleet(['fast', 'slow']) as [Upstream, Upstream]
    fast.observeLatency(1, Date.now())
    slow.observeLatency(50, Date.now())
    const ewma = createBalancer('peak-ewma')
    assert.deepEqual(counts(Array.from({ length: 20 }, () => ewma.pick([fast, slow], ctx()))), { fast: 20 })
    fast.active = 100
    assert.equal(ewma.pick([fast, slow], ctx())?.id, 'slow', 'load counts too: cost = latency × (active + 1)')
  })

  it('peak EWMA forgets a slow spell of an instance it stopped sending to', () => {
    const [steady, once] = fleet(['steady', 'once']) as [Upstream, Upstream]
    const start = 1_000_000
    once.observeLatency(400, start) // one slow spell: a peak is taken at once
    const ewma = createBalancer('peak-ewma')
    for (let t = start; t <= start + 50_000; t += 100) steady.observeLatency(5, t)
    assert.equal(ewma.pick([steady, once], ctx({ now: start + 1000 }))?.id, 'steady', 'right after the spell, the slow one is avoided')
    assert.ok(once.latencyEwmaMsAt(start + 30_000) < 400 * 0.06, 'three decay times later little of the peak is left')
    assert.equal(once.latencyEwmaMs, 400, 'the stored value is unchanged: only the reading decays')
    // 400 ms × e^(−50 s / 10 s) ≈ 2.7 ms, under the steady one's 5 ms.
    assert.equal(ewma.pick([steady, once], ctx({ now: start + 50_000 }))?.id, 'once', 'a starved instance is tried again')
  })

  it('p2c compares two distinct random instances', () => {
    const ups = fleet(['a', 'b'])
    ;(ups[0] as Upstream).active = 5
    const p2c = new PowerOfTwoChoices(seededRandom(1))
    assert.deepEqual(counts(Array.from({ length: 50 }, () => p2c.pick(ups, ctx()))), { b: 50 })
  })
})

describe('consistent hashing', () => {
  const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`)
  const assign = (ring: ConsistentHash, ups: Upstream[]): Map<string, string> =>
    new Map(keys.map((k) => [k, ring.pick(ups, ctx({ hashKey: k }))?.id as string]))

  it('spreads keys and moves about 1/N of them when an instance is added', () => {
    const four = fleet(['i1', 'i2', 'i3', 'i4'])
    const ring = new ConsistentHash()
    const before = assign(ring, four)
    const shares = Object.values(counts([...before.values()].map((id) => four.find((u) => u.id === id))))
    assert.ok(Math.min(...shares) > 10_000 / 4 * 0.7, `balanced enough: ${shares.join(', ')}`)
    const five = [...four, ...fleet(['i5'])]
    const afterAdd = assign(ring, five)
    const moved = keys.filter((k) => before.get(k) !== afterAdd.get(k))
    assert.ok(moved.length < 10_000 * 0.27, `moved ${moved.length} of 10000 (1/5 expected)`)
    assert.ok(moved.every((k) => afterAdd.get(k) === 'i5'), 'keys only move to the new instance')
    const afterRemove = assign(ring, four.filter((u) => u.id !== 'i2'))
    assert.ok(keys.every((k) => before.get(k) === 'i2' || before.get(k) === afterRemove.get(k)), 'only the removed instance\'s keys move')
  })

  it('bounded load caps any instance at the balance factor', () => {
    const ups = fleet(['b1', 'b2', 'b3', 'b4'])
    const ring = new ConsistentHash({ balanceFactor: 1.25 })
    for (let i = 0; i < 100; i++) {
      const u = ring.pick(ups, ctx({ hashKey: 'one-hot-key' })) as Upstream
      u.active++
      const total = ups.reduce((s, x) => s + x.active, 0)
      for (const x of ups) assert.ok(x.active <= Math.ceil(1.25 * total / 4) + 1, `${x.id} has ${x.active} of ${total}`)
    }
    assert.ok(ups.filter((u) => u.active > 0).length >= 3, 'the hot key spilled over to other instances')
    assert.ok(ups.every((u) => u.active <= Math.ceil(1.25 * 100 / 4)), `none above the cap: ${ups.map((u) => u.active).join(', ')}`)
    for (const u of ups) u.active = 0
  })

  it('ip-hash keeps a client on one instance', () => {
    const ups = fleet(['h1', 'h2', 'h3'])
    const ipHash = createBalancer('ip-hash')
    const first = ipHash.pick(ups, ctx({ clientIp: '192.0.2.7' }))
    for (let i = 0; i < 20; i++) assert.equal(ipHash.pick(ups, ctx({ clientIp: '192.0.2.7' })), first)
    const spread = new Set(Array.from({ length: 50 }, (_, i) => ipHash.pick(ups, ctx({ clientIp: `198.51.100.${i}` }))?.id))
    assert.equal(spread.size, 3)
  })
})

describe('sticky sessions', () => {
  it('follow the cookie while the instance is eligible, and fall back when it is not', () => {
    const [a, b] = fleet(['a', 'b']) as [Upstream, Upstream]
    const sticky = createBalancer('sticky')
    for (let i = 0; i < 5; i++) assert.equal(sticky.pick([a, b], ctx({ stickyId: 'b' })), b)
    b.healthy = false
    assert.equal(sticky.pick([a, b], ctx({ stickyId: 'b' })), a)
  })
})
