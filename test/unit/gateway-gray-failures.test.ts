import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, it } from 'node:test'
import { request } from 'undici'
import { parseGatewayConfig, routeSchema, type GatewayConfigInput } from '../../src/config/gateway-config.js'
import { HealthChecker } from '../../src/gateway/health-checker.js'
import { OutlierDetector } from '../../src/gateway/outlier-detector.js'
import { PerTryTimeouts } from '../../src/gateway/per-try-timeout.js'
import { RetryBudget } from '../../src/gateway/retry-budget.js'
import { startGateway, type RunningGateway } from '../../src/gateway/server.js'
import { Upstream } from '../../src/gateway/upstream.js'
import { waitUntil } from '../helpers/wait.js'

const cleanups: Array<() => Promise<void>> = []
after(async () => { for (const c of cleanups.reverse()) await c() })

/** An instance that can go silent: requests (and, when `checks` too, its /readyz) are held unanswered. */
interface Instance {
  readonly id: string
  readonly url: string
  silent: boolean
  checksSilent: boolean
  hits: number
  /** Requests that were held and then cancelled by the gateway (their connection closed). */
  cancelled: number
  /** The next this many requests get their connection reset instead of an answer. */
  resets: number
  /** Answers wait this long. */
  delayMs: number
}

async function instance (id: string): Promise<Instance> {
  const state: Instance = { id, url: '', silent: false, checksSilent: false, hits: 0, cancelled: 0, resets: 0, delayMs: 0 }
  const server: Server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      if (req.url === '/readyz') {
        if (!state.checksSilent) res.end('ok')
        return
      }
      state.hits++
      if (state.silent) {
        res.on('close', () => { if (!res.writableEnded) state.cancelled++ })
        return
      }
      if (state.resets > 0) {
        state.resets--
        req.socket.destroy()
        return
      }
      setTimeout(() => {
        res.writeHead(200, { 'x-outgrow-instance': id })
        res.end(id)
      }, state.delayMs)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  })
  return Object.assign(state, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
}

async function gateway (instances: Instance[], extra: Partial<GatewayConfigInput> = {}): Promise<{ gw: RunningGateway, base: string }> {
  const gw = await startGateway(parseGatewayConfig({
    port: 0,
    admin: { port: 0 },
    ...extra,
    upstreams: { instances: instances.map((i) => ({ id: i.id, url: i.url })), healthCheck: { intervalMs: 200, timeoutMs: 150, rise: 1, fall: 2 }, ...extra.upstreams },
  }), { log: () => {} })
  cleanups.push(async () => { await gw.close() })
  return { gw, base: `http://127.0.0.1:${gw.port}` }
}

/** A route whose requests all try `first` before anything else (weights 1000:1). */
function weighted (a: Instance, b: Instance): Partial<GatewayConfigInput>['upstreams'] {
  return { instances: [{ id: a.id, url: a.url, weight: 1000 }, { id: b.id, url: b.url, weight: 1 }] }
}

describe('per-try timeouts', () => {
  it('an idempotent request with no answer in its per-try timeout is retried on another instance', async () => {
    const quiet = await instance('quiet')
    const other = await instance('other')
    quiet.silent = true
    const { base } = await gateway([quiet, other], { routes: [{ perTryTimeout: { fixedMs: 200 } }], upstreams: weighted(quiet, other) })
    const res = await request(`${base}/item`)
    assert.equal(res.statusCode, 200)
    assert.equal(await res.body.text(), 'other', 'answered by the other instance')
    assert.equal(quiet.hits, 1, 'the silent instance was tried first')
  })

  it('a keyed POST is retried too; a POST without Idempotency-Key gets a prompt 504, not the route timeout', async () => {
    const quiet = await instance('quiet')
    const other = await instance('other')
    quiet.silent = true
    const { base } = await gateway([quiet, other], { routes: [{ perTryTimeout: { fixedMs: 200 } }], upstreams: weighted(quiet, other) })
    const keyed = await request(`${base}/orders`, { method: 'POST', body: '{}', headers: { 'idempotency-key': 'k1' } })
    assert.equal(keyed.statusCode, 200)
    assert.equal(await keyed.body.text(), 'other')
    const started = Date.now()
    const plain = await request(`${base}/orders`, { method: 'POST', body: '{}' })
    const body = await plain.body.json() as { error: { code: string } }
    assert.equal(plain.statusCode, 504)
    assert.equal(body.error.code, 'OUTGROW_UPSTREAM_TIMEOUT')
    assert.ok(Date.now() - started < 10_000, 'answered long before the 30 s route timeout')
    assert.equal(other.hits, 1, 'the unkeyed POST was never sent twice')
  })

  it('a POST without Idempotency-Key is not cut off at the p99 the route learnt from quicker requests', async () => {
    // One instance: quick answers, but a login that takes 300 ms (a password hash).
    const server: Server = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        if (req.url === '/login') setTimeout(() => { res.end('logged in') }, 300)
        else res.end('ok')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    })
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const { base } = await gateway([], { routes: [{ perTryTimeout: { floorMs: 50, capMs: 5000 } }], upstreams: { instances: [{ id: 'app', url }] } })
    // Enough quick answers for a learnt per-try timeout at the floor (50 ms).
    for (let i = 0; i < 40; i++) await (await request(`${base}/item`)).body.text()
    const login = await request(`${base}/login`, { method: 'POST', body: '{}' })
    assert.equal(login.statusCode, 200)
    assert.equal(await login.body.text(), 'logged in')
  })

  it('a try is given up at the learnt p99 only when another instance can take its copy', async () => {
    // Two instances: the learnt timeout (the 50 ms floor) gives a slow try up for the other one.
    const slow = await instance('slow')
    const other = await instance('other')
    const pair = await gateway([slow, other], { routes: [{ perTryTimeout: { floorMs: 50, capMs: 5000 } }], upstreams: weighted(slow, other) })
    for (let i = 0; i < 40; i++) await (await request(`${pair.base}/item`)).body.text()
    slow.delayMs = 300
    const overtaken = await request(`${pair.base}/item`)
    assert.equal(await overtaken.body.text(), 'other', 'the copy went to the other instance')
    // A fleet of one: a copy would land on the same instance, still busy with the first — it waits.
    const alone = await instance('alone')
    const single = await gateway([alone], { routes: [{ perTryTimeout: { floorMs: 50, capMs: 5000 } }] })
    for (let i = 0; i < 40; i++) await (await request(`${single.base}/item`)).body.text()
    alone.delayMs = 300
    const hitsBefore = alone.hits
    const waited = await request(`${single.base}/item`)
    assert.equal(waited.statusCode, 200)
    assert.equal(await waited.body.text(), 'alone')
    assert.equal(alone.hits - hitsBefore, 1, 'sent once: not given up and sent to the same instance again')
  })

  it('a keyed POST is neither cut off at the learnt p99 nor hedged: a copy elsewhere would find it in progress', async () => {
    // Two instances: quick answers, but an order held up 300 ms (its Redis restarting, say).
    let orders = 0
    const urls: string[] = []
    for (let i = 0; i < 2; i++) {
      const server: Server = createServer((req, res) => {
        req.resume()
        req.on('end', () => {
          if (req.url === '/orders') {
            orders++
            setTimeout(() => { res.end('placed') }, 300)
          } else res.end('ok')
        })
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      cleanups.push(async () => {
        server.closeAllConnections()
        await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
      })
      urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    }
    const { base } = await gateway([], {
      routes: [{ perTryTimeout: { floorMs: 50, capMs: 5000 }, hedge: true }],
      upstreams: { instances: urls.map((url, i) => ({ id: `app-${i}`, url })) },
    })
    // Enough quick answers on both instances for a learnt per-try timeout at the floor (50 ms).
    for (let i = 0; i < 80; i++) await (await request(`${base}/item`)).body.text()
    for (let i = 0; i < 3; i++) {
      const res = await request(`${base}/orders`, { method: 'POST', body: '{}', headers: { 'idempotency-key': `k${i}` } })
      assert.equal(res.statusCode, 200)
      assert.equal(await res.body.text(), 'placed')
    }
    assert.equal(orders, 3, 'each keyed POST reached one instance once')
  })

  it('hedging: a second copy after the per-try timeout, the first answer wins, the other is cancelled', async () => {
    const quiet = await instance('quiet')
    const other = await instance('other')
    quiet.silent = true
    const { base } = await gateway([quiet, other], { routes: [{ perTryTimeout: { fixedMs: 100 }, hedge: true }], upstreams: weighted(quiet, other) })
    const res = await request(`${base}/item`)
    assert.equal(await res.body.text(), 'other')
    assert.ok(await waitUntil(async () => quiet.cancelled === 1, 5000), 'the losing copy was cancelled')
  })

  it('learns from answers: p99 × multiplier within floor and cap, the cap until enough answers are seen', () => {
    const u = new Upstream('p', 'http://127.0.0.1:1')
    cleanups.push(async () => { await u.close() })
    const perTry = new PerTryTimeouts(routeSchema.parse({ perTryTimeout: { p99Multiplier: 4, floorMs: 50, capMs: 1000 } }).perTryTimeout)
    assert.equal(perTry.timeoutFor(u), 1000, 'no answers yet: the cap')
    for (let i = 0; i < 256; i++) perTry.observe(u, i % 64 === 63 ? 40 : 10)
    assert.equal(perTry.timeoutFor(u), 160, 'p99 40 ms × 4')
    for (let i = 0; i < 300; i++) perTry.observe(u, 1)
    assert.equal(perTry.timeoutFor(u), 50, 'the floor')
    assert.equal(perTry.timeoutFor(u, false), 1000, 'a request that cannot be sent again: the cap, whatever the p99')
    for (let i = 0; i < 300; i++) perTry.observe(u, 900)
    assert.equal(perTry.timeoutFor(u), 1000, 'the cap')
  })
})

describe('gray failures', () => {
  it('requests in flight on an instance that stops answering its checks are failed over before their own timeout', async () => {
    const quiet = await instance('quiet')
    const other = await instance('other')
    const { base } = await gateway([quiet, other], { routes: [{ perTryTimeout: { fixedMs: 60_000 } }], upstreams: weighted(quiet, other) })
    quiet.silent = true
    quiet.checksSilent = true
    const res = await request(`${base}/item`)
    assert.equal(await res.body.text(), 'other', 'retried elsewhere once the checks failed, not after 60 s')
    assert.equal(quiet.hits, 1)
  })

  it('a request failed over whose retry then fails too is tried again on an instance still in rotation, not answered 502', async () => {
    const quiet = await instance('quiet')
    const other = await instance('other')
    const { base } = await gateway([quiet, other], { routes: [{ perTryTimeout: { fixedMs: 60_000 } }], upstreams: weighted(quiet, other) })
    quiet.silent = true
    quiet.checksSilent = true
    other.resets = 1
    const res = await request(`${base}/item`)
    assert.equal(res.statusCode, 200)
    assert.equal(await res.body.text(), 'other', 'the only instance left took the request again after its own try failed')
    assert.equal(quiet.hits, 1)
    assert.equal(other.hits, 2)
  })

  it('with the retry budget spent, a reset waits for a slot (granted when a retry succeeds) instead of a prompt 502', async () => {
    const flaky = await instance('flaky')
    const steady = await instance('steady')
    flaky.resets = 2
    steady.delayMs = 300
    const { base } = await gateway([flaky, steady], {
      routes: [{ retries: { attempts: 2, budgetPercent: 0, minRetryConcurrency: 1 } }],
      upstreams: { ...weighted(flaky, steady), outlierDetection: { consecutiveFailures: 1000 }, circuitBreaker: { failureThreshold: 1000 } },
    })
    const first = request(`${base}/item`)
    await new Promise((resolve) => setTimeout(resolve, 100))
    const second = request(`${base}/item`)
    for (const res of await Promise.all([first, second])) {
      assert.equal(res.statusCode, 200)
      assert.equal(await res.body.text(), 'steady')
    }
    assert.equal(flaky.hits, 2, 'both were tried on the resetting instance first')
    assert.equal(steady.hits, 2, 'one retry at a time, as the budget allows')
  })

  it('failures of requests sent before a health change neither open the breaker nor eject the instance after it is healthy again', async () => {
    const quiet = await instance('quiet')
    const other = await instance('other')
    const { gw, base } = await gateway([quiet, other], {
      routes: [{ perTryTimeout: { fixedMs: 60_000 } }],
      upstreams: { ...weighted(quiet, other), circuitBreaker: { failureThreshold: 1 }, outlierDetection: { consecutiveFailures: 1 } },
    })
    const u = gw.cluster.members.find((m) => m.id === 'quiet') as Upstream
    quiet.silent = true
    quiet.checksSilent = true
    // Unkeyed POSTs are not failed over: they wait on the silent instance past its health change.
    const posts = Array.from({ length: 3 }, async () => await request(`${base}/orders`, { method: 'POST', body: '{}' }).catch(() => undefined))
    assert.ok(await waitUntil(async () => !u.healthy, 5000), 'marked unhealthy')
    quiet.checksSilent = false
    assert.ok(await waitUntil(async () => u.healthy, 5000), 'healthy again')
    // The old requests now fail (their connections cut): old news for the breaker and the detector.
    quiet.silent = false
    u.destroy()
    await Promise.all(posts)
    const now = Date.now()
    assert.equal(u.breaker.state(now), 'closed')
    assert.equal(u.ejectedUntil <= now, true, 'not ejected')
  })

  it('an unhealthy instance that passes a check is checked again without waiting for the interval timer', async () => {
    const back = await instance('back')
    const u = new Upstream('back', back.url)
    cleanups.push(async () => { await u.close() })
    const checker = new HealthChecker(() => [u], { intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 1, path: '/readyz' })
    cleanups.push(async () => { checker.stop() })
    u.markDown('test')
    await checker.check(u)
    assert.equal(u.healthy, false, 'one check of two')
    assert.ok(await waitUntil(async () => u.healthy, 10_000), 'a second check came on its own (the interval timer was never started)')
  })

  it('panic: when open breakers and ejections would leave no instance, the healthy ones still serve', async () => {
    const only = await instance('only')
    const { gw, base } = await gateway([only], { routes: [{ retries: { attempts: 0 } }], upstreams: { circuitBreaker: { failureThreshold: 1, openMs: 60_000 } } })
    const u = gw.cluster.members[0] as Upstream
    u.breaker.onFailure(Date.now())
    assert.equal(u.breaker.state(Date.now()), 'open')
    const res = await request(`${base}/item`)
    assert.equal(res.statusCode, 200)
    assert.equal(await res.body.text(), 'only')
  })

  it('outlier detection ejects an instance whose median latency is a multiple of the others, and one that mostly fails', () => {
    const fleet = ['f1', 'f2', 'f3'].map((id) => new Upstream(id, 'http://127.0.0.1:1'))
    cleanups.push(async () => { for (const u of fleet) await u.close() })
    const [fast, slow, failing] = fleet as [Upstream, Upstream, Upstream]
    const detector = new OutlierDetector({ consecutiveFailures: 1000, baseEjectionMs: 1000, maxEjectionMs: 10_000, maxEjectedPercent: 100, minRequests: 10, latencyFactor: 3, latencyMinExtraMs: 5, failurePercentage: 50 })
    const now = 1_000_000
    for (let i = 0; i < 20; i++) {
      detector.onLatency(fast, 2 + (i % 3))
      detector.onSuccess(fast)
      detector.onLatency(slow, 30)
      detector.onSuccess(slow)
      detector.onLatency(failing, 2)
      if (i % 4 === 0) detector.onSuccess(failing)
      else detector.onFailure(failing, fleet, now)
    }
    detector.sweep(fleet, now)
    assert.equal(fast.ejectedUntil, 0)
    assert.equal(slow.ejectedUntil, now + 1000, '10× slower: ejected')
    assert.equal(failing.ejectedUntil, now + 1000, '75 % failed: ejected')
    // Jitter below latencyMinExtraMs never ejects, however large the ratio.
    const calm = ['c1', 'c2'].map((id) => new Upstream(id, 'http://127.0.0.1:1'))
    cleanups.push(async () => { for (const u of calm) await u.close() })
    for (let i = 0; i < 20; i++) {
      detector.onLatency(calm[0] as Upstream, 0.2)
      detector.onSuccess(calm[0] as Upstream)
      detector.onLatency(calm[1] as Upstream, 2)
      detector.onSuccess(calm[1] as Upstream)
    }
    detector.sweep(calm, now)
    assert.equal(calm.every((u) => u.ejectedUntil === 0), true)
  })

  it('a latency outlier is ejected only after latencyIntervals slow intervals in a row: a pause is not a gray failure', () => {
    const fleet = ['p1', 'p2', 'p3'].map((id) => new Upstream(id, 'http://127.0.0.1:1'))
    cleanups.push(async () => { for (const u of fleet) await u.close() })
    const [paused, a, b] = fleet as [Upstream, Upstream, Upstream]
    const detector = new OutlierDetector({ consecutiveFailures: 1000, baseEjectionMs: 1000, maxEjectionMs: 10_000, maxEjectedPercent: 100, minRequests: 10, latencyFactor: 3, latencyMinExtraMs: 5, latencyIntervals: 3, failurePercentage: 50 })
    const reasons: string[] = []
    detector.onEject = (u, reason) => { reasons.push(`${u.id}: ${reason}`) }
    let now = 1_000_000
    /** One interval: the others answer in 2 ms, `paused` in `ms` (or too few answers to judge). */
    const interval = (ms: number | 'quiet'): void => {
      for (let i = 0; i < 20; i++) {
        for (const u of [a, b]) { detector.onLatency(u, 2); detector.onSuccess(u) }
        if (ms !== 'quiet' || i < 3) { detector.onLatency(paused, ms === 'quiet' ? 60 : ms); detector.onSuccess(paused) }
      }
      detector.sweep(fleet, now)
      now += 500
    }
    // A garbage collection on a quarter core: one interval at 60 ms, then normal again.
    interval(60)
    interval(2)
    interval(60)
    interval(60)
    interval(2)
    assert.equal(paused.ejectedUntil, 0, 'slow intervals that are not three in a row do not eject')
    // Slow for three judged intervals, one too quiet to judge in between: ejected on the third.
    interval(60)
    interval(60)
    interval('quiet')
    assert.equal(paused.ejectedUntil, 0, 'a quiet interval is not judged, and does not end the run either')
    interval(60)
    assert.equal(paused.ejectedUntil, now - 500 + 1000, 'ejected after the third slow interval in a row')
    assert.deepEqual(reasons, ['p1: median latency 60.0 ms against 2.0 ms for the others, 3 intervals in a row'])
    assert.equal(a.ejectedUntil + b.ejectedUntil, 0)
  })

  it('gateway configs default to three slow intervals in a row before a latency ejection', () => {
    const config = parseGatewayConfig({ port: 0, upstreams: { instances: [{ id: 'a', url: 'http://127.0.0.1:1' }] } })
    assert.equal(config.upstreams.outlierDetection.latencyIntervals, 3)
    assert.throws(() => parseGatewayConfig({ port: 0, upstreams: { instances: [{ id: 'a', url: 'http://127.0.0.1:1' }], outlierDetection: { latencyIntervals: 0 } } }), /latencyIntervals/)
  })

  it('the retry budget hands a slot to a waiting request only when the retry that held it succeeded', () => {
    const budget = new RetryBudget(0, 1)
    budget.requestsInFlight = 10
    assert.equal(budget.tryStartRetry(), true)
    assert.equal(budget.tryStartRetry(), false)
    const seen: string[] = []
    budget.waitForRetry(() => seen.push('a granted'), () => seen.push('a refused'))
    budget.waitForRetry(() => seen.push('b granted'), () => seen.push('b refused'))
    budget.endRetry(true)
    assert.deepEqual(seen, ['a granted'])
    budget.endRetry(false)
    assert.deepEqual(seen, ['a granted', 'b refused'], 'a failing retry means a sick fleet: waiting stops')
    assert.equal(budget.retriesInFlight, 0)
  })
})
