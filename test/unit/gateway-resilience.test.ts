import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { CircuitBreaker } from '../../src/gateway/circuit-breaker.js'
import { OutlierDetector } from '../../src/gateway/outlier-detector.js'
import { LocalRateLimitStore } from '../../src/gateway/rate-limit.js'
import { RetryBudget } from '../../src/gateway/retry-budget.js'
import { Upstream } from '../../src/gateway/upstream.js'

const made: Upstream[] = []
after(async () => { await Promise.all(made.map(async (u) => { await u.close() })) })

describe('health', () => {
  it('active checks: fall failures take an instance out, rise successes bring it back', () => {
    const u = new Upstream('a', 'http://127.0.0.1:1')
    made.push(u)
    const config = { rise: 2, fall: 3 }
    u.recordCheck(false, config)
    u.recordCheck(false, config)
    assert.equal(u.state, 'healthy')
    u.recordCheck(false, config)
    assert.equal(u.state, 'unhealthy')
    u.recordCheck(true, config)
    assert.equal(u.state, 'unhealthy')
    u.recordCheck(true, config)
    assert.equal(u.state, 'healthy')
  })

  it('outlier detection ejects after consecutive failures, for growing times, within the cap on the ejected share', () => {
    const fleet = ['o1', 'o2', 'o3', 'o4'].map((id) => new Upstream(id, 'http://127.0.0.1:1'))
    made.push(...fleet)
    const [o1, o2, o3] = fleet as [Upstream, Upstream, Upstream]
    const detector = new OutlierDetector({ consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectionMs: 3000, maxEjectedPercent: 50 })
    let now = 1_000_000
    detector.onFailure(o1, fleet, now)
    detector.onFailure(o1, fleet, now)
    detector.onSuccess(o1)
    detector.onFailure(o1, fleet, now)
    detector.onFailure(o1, fleet, now)
    assert.equal(o1.ejectedUntil, 0, 'a success resets the count')
    assert.equal(detector.onFailure(o1, fleet, now), true)
    assert.equal(o1.ejectedUntil, now + 1000)
    assert.equal(o1.available(now + 999), false)
    assert.equal(o1.available(now + 1000), true)
    now += 1000
    for (let i = 0; i < 3; i++) detector.onFailure(o1, fleet, now)
    assert.equal(o1.ejectedUntil, now + 2000, 'second ejection lasts twice as long')
    for (let i = 0; i < 3; i++) detector.onFailure(o2, fleet, now)
    assert.ok(o2.ejectedUntil > now)
    for (let i = 0; i < 3; i++) detector.onFailure(o3, fleet, now)
    assert.equal(o3.ejectedUntil, 0, 'never more than 50 % of the instances ejected')
    now += 10_000
    for (let j = 0; j < 5; j++) { for (let i = 0; i < 3; i++) detector.onFailure(o1, fleet, now); now += 4000 }
    assert.ok(o1.ejectedUntil - (now - 4000) <= 3000, 'ejection time is capped')
  })

  it('an ejection\'s length follows the recent streak: it doubles back to back, up to the cap, and shrinks again while the instance stays in rotation', () => {
    const fleet = ['s1', 's2'].map((id) => new Upstream(id, 'http://127.0.0.1:1'))
    made.push(...fleet)
    const [s1] = fleet as [Upstream, Upstream]
    const detector = new OutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 1000, maxEjectionMs: 8000, maxEjectedPercent: 50 })
    const reasons: string[] = []
    detector.onEject = (_u, reason) => { reasons.push(reason) }
    let now = 5_000_000
    const lengths: number[] = []
    for (let i = 0; i < 5; i++) {
      assert.equal(detector.onFailure(s1, fleet, now), true)
      lengths.push(s1.ejectedUntil - now)
      now = s1.ejectedUntil // straight back in, and failing again at once
    }
    assert.deepEqual(lengths, [1000, 2000, 4000, 8000, 8000])
    assert.equal(reasons[0], '1 failure in a row', 'an ejection for failures in a row is told, as a sweep\'s is')
    assert.equal(detector.streak(s1, now), 5)
    // Three base ejection times in rotation take three off the streak: the next ejection is the third's length, not the cap.
    now += 3000
    assert.equal(detector.streak(s1, now), 2)
    detector.onFailure(s1, fleet, now)
    assert.equal(s1.ejectedUntil - now, 4000)
    now = s1.ejectedUntil + 60_000
    assert.equal(detector.streak(s1, now), 0, 'a minute in rotation forgets the streak')
    detector.onFailure(s1, fleet, now)
    assert.equal(s1.ejectedUntil - now, 1000)
    assert.equal(s1.ejections, 7, 'the lifetime count (the metric) still counts every ejection')
  })
})

describe('circuit breaker', () => {
  it('opens after consecutive failures, half-opens after a while for one probe, closes on success', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, openMs: 1000 })
    let now = 0
    for (let i = 0; i < 3; i++) breaker.onFailure(now)
    assert.equal(breaker.state(now), 'open')
    assert.equal(breaker.allows(now + 999), false)
    now += 1000
    assert.equal(breaker.state(now), 'half-open')
    assert.equal(breaker.allows(now), true)
    breaker.onSend(now)
    assert.equal(breaker.allows(now), false, 'one probe at a time')
    breaker.onFailure(now)
    assert.equal(breaker.state(now), 'open', 'a failed probe opens it again')
    now += 1000
    breaker.onSend(now)
    breaker.onSuccess()
    assert.equal(breaker.state(now), 'closed')
    assert.equal(breaker.allows(now), true)
  })
})

describe('retry budget', () => {
  it('caps retries in flight at the budget share of requests in flight, with a floor', () => {
    const budget = new RetryBudget(20, 3)
    budget.requestsInFlight = 100
    let granted = 0
    for (let i = 0; i < 50; i++) if (budget.tryStartRetry()) granted++
    assert.equal(granted, 20)
    assert.equal(budget.retriesRefused, 30)
    budget.endRetry()
    assert.equal(budget.tryStartRetry(), true)
    const quiet = new RetryBudget(20, 3)
    quiet.requestsInFlight = 1
    assert.deepEqual([quiet.tryStartRetry(), quiet.tryStartRetry(), quiet.tryStartRetry(), quiet.tryStartRetry()], [true, true, true, false])
  })
})

describe('local rate limit', () => {
  it('allows the burst, refuses beyond it with a retry time, refills at the rate', () => {
    const store = new LocalRateLimitStore()
    const t0 = 1000
    for (let i = 0; i < 5; i++) assert.equal(store.take('k', 10, 5, t0).allowed, true)
    const refused = store.take('k', 10, 5, t0)
    assert.equal(refused.allowed, false)
    assert.equal(refused.retryAfterMs, 100)
    assert.equal(store.take('k', 10, 5, t0 + 100).allowed, true, 'one token after 1/rate seconds')
    assert.equal(store.take('other', 10, 5, t0).allowed, true, 'keys have their own buckets')
  })
})
