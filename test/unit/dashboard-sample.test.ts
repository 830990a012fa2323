import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { StackInfo, StackProcessInfo } from '../../src/control/stack.js'
import { buildSample, type Readings } from '../../src/dashboard/build-sample.js'
import { DashboardCollector } from '../../src/dashboard/collector.js'
import { parseAppMetrics, parseGatewayMetrics } from '../../src/dashboard/readings.js'
import { counterRate, lsnBytes, processStatus, quantileMs } from '../../src/dashboard/sample-math.js'
import type { DashboardSources } from '../../src/dashboard/sources.js'

const proc = (name: string, role: StackProcessInfo['role'], extra: Partial<StackProcessInfo> = {}): StackProcessInfo => ({
  name, role, server: `${name}-server`, pid: 100, state: 'ready', restarts: 0, url: role === 'postgres' ? 'postgres://x' : role === 'redis' ? 'redis://x' : 'http://x', metricsUrl: role === 'app' || role === 'gateway' ? `http://${name}/metrics` : undefined, ...extra,
})

/** An app's /metrics: `count` requests (`errors` of them 5xx), split over the buckets given as [le, cumulative]. */
function appText (options: { buckets: Array<[string, number]>, errors?: number, primary?: number, hits?: number, misses?: number, elu?: number }): string {
  const total = options.buckets.at(-1)?.[1] ?? 0
  const errors = options.errors ?? 0
  return [
    ...options.buckets.map(([le, n]) => `outgrow_http_request_duration_seconds_bucket{method="GET",route="/x",status="2xx",le="${le}"} ${n - (le === '+Inf' ? errors : 0)}`),
    `outgrow_http_request_duration_seconds_bucket{method="GET",route="/x",status="5xx",le="+Inf"} ${errors}`,
    `outgrow_http_request_duration_seconds_count{method="GET",route="/x",status="2xx"} ${total - errors}`,
    `outgrow_http_request_duration_seconds_count{method="GET",route="/x",status="5xx"} ${errors}`,
    `outgrow_event_loop_utilization ${options.elu ?? 0.25}`,
    'outgrow_http_in_flight 3',
    `outgrow_db_queries_total{target="primary"} ${options.primary ?? 0}`,
    `outgrow_cache_requests_total{result="hit"} ${options.hits ?? 0}`,
    `outgrow_cache_requests_total{result="miss"} ${options.misses ?? 0}`,
  ].join('\n')
}

test('counter rates: per second between readings; a counter that went down (restart) counts from zero; no previous reading is 0', () => {
  assert.equal(counterRate(100, 300, 2), 100)
  assert.equal(counterRate(500, 40, 2), 20)
  assert.equal(counterRate(undefined, 300, 2), 0)
})

test('quantiles come from the bucket deltas between two readings, interpolated inside the bucket', () => {
  // Before: 100 requests all under 5 ms. After: 100 more, 50 in (5, 10] ms and 50 in (10, 25] ms.
  const before = parseAppMetrics(appText({ buckets: [['0.005', 100], ['0.01', 100], ['0.025', 100], ['+Inf', 100]] }), 0).buckets
  const after = parseAppMetrics(appText({ buckets: [['0.005', 100], ['0.01', 150], ['0.025', 200], ['+Inf', 200]] }), 1000).buckets
  // The old requests do not count: the median of the new ones is the top of (5, 10], p99 near the top of (10, 25].
  assert.ok(Math.abs((quantileMs(before, after, 0.5) ?? 0) - 10) < 1e-9)
  assert.ok(Math.abs((quantileMs(before, after, 0.99) ?? 0) - (10 + 15 * 49 / 50)) < 1e-9)
  assert.equal(quantileMs(after, after, 0.99), null, 'nothing observed in between')
  assert.equal(quantileMs(undefined, after, 0.99), null, 'no previous reading')
})

test('status: crashed is dead, starting again after a crash is restarting, the gateway ejecting a ready instance is ejected', () => {
  assert.equal(processStatus({ role: 'app', state: 'crashed', restarts: 0 }, undefined), 'dead')
  assert.equal(processStatus({ role: 'app', state: 'starting', restarts: 1 }, undefined), 'restarting')
  assert.equal(processStatus({ role: 'app', state: 'starting', restarts: 0 }, undefined), 'starting')
  assert.equal(processStatus({ role: 'app', state: 'ready', restarts: 0 }, false), 'ejected')
  assert.equal(processStatus({ role: 'app', state: 'ready', restarts: 0 }, true), 'healthy')
  assert.equal(processStatus({ role: 'app', state: 'stopping', restarts: 0 }, undefined), 'draining')
  assert.equal(processStatus({ role: 'postgres', state: 'stopping', restarts: 0 }, undefined), 'stopping')
})

test('the gateway metrics are read under the upstream label and under the older instance label', () => {
  const renamed = parseGatewayMetrics('outgrow_gateway_requests_total{upstream="app-1",status="2xx"} 7\noutgrow_gateway_requests_total{upstream="app-1",status="5xx"} 1\noutgrow_gateway_upstream_healthy{upstream="app-1"} 0', 0)
  const old = parseGatewayMetrics('outgrow_gateway_requests_total{instance="app-1",status="2xx"} 8\noutgrow_gateway_upstream_healthy{instance="app-1"} 1', 0)
  assert.equal(renamed.requests.get('app-1'), 8)
  assert.equal(renamed.errors.get('app-1'), 1)
  assert.equal(renamed.healthy.get('app-1'), false)
  assert.equal(old.requests.get('app-1'), 8)
})

test('a sample: instance rates, edges, the cache hit ratio, replica lag in bytes from the LSNs, an ejected instance', () => {
  const processes = [proc('gateway', 'gateway'), proc('app-1', 'app'), proc('app-2', 'app'), proc('postgres-primary', 'postgres'), proc('postgres-replica-1', 'postgres'), proc('redis', 'redis')]
  const empty = { servers: new Map(), jobs: undefined, redis: new Map([['redis', { opsPerSecond: 42, usedMemoryBytes: 1000 }]]) }
  const previous: Readings = {
    ...empty,
    t: 0,
    apps: new Map([['app-1', parseAppMetrics(appText({ buckets: [['0.01', 10], ['+Inf', 10]], primary: 5, hits: 1, misses: 1 }), 0)]]),
    gateways: new Map([['gateway', parseGatewayMetrics('outgrow_gateway_requests_total{upstream="app-1",status="2xx"} 10', 0)]]),
    postgres: new Map([['postgres-primary', { at: 0, inRecovery: false, lsn: '0/1000', statements: 100, transactions: 50, connections: 4, replayLagSeconds: null }]]),
  }
  const current: Readings = {
    ...empty,
    t: 2000,
    apps: new Map([['app-1', parseAppMetrics(appText({ buckets: [['0.01', 110], ['+Inf', 110]], errors: 4, primary: 45, hits: 31, misses: 11 }), 2000)]]),
    gateways: new Map([['gateway', parseGatewayMetrics('outgrow_gateway_requests_total{upstream="app-1",status="2xx"} 110\noutgrow_gateway_upstream_healthy{upstream="app-1"} 1\noutgrow_gateway_upstream_healthy{upstream="app-2"} 0', 2000)]]),
    postgres: new Map([
      ['postgres-primary', { at: 2000, inRecovery: false, lsn: '0/3000', statements: 300, transactions: 60, connections: 5, replayLagSeconds: null }],
      ['postgres-replica-1', { at: 2000, inRecovery: true, lsn: '0/2800', statements: null, transactions: 9, connections: 2, replayLagSeconds: 0.5 }],
    ]),
  }
  const sample = buildSample({ processes, cacheRedis: 'redis', current, previous })
  const app1 = sample.instances.find((i) => i.name === 'app-1')
  assert.equal(app1?.requestsPerSecond, 50)
  assert.equal(app1?.errorsPerSecond, 2)
  assert.equal(app1?.inFlight, 3)
  assert.ok(app1?.p99Ms !== null && (app1?.p99Ms ?? 0) <= 10)
  // app-2's scrape failed: it is still drawn, its figures unknown.
  assert.deepEqual(sample.instances.find((i) => i.name === 'app-2'), { name: 'app-2', requestsPerSecond: 0, p50Ms: null, p99Ms: null, errorsPerSecond: 0, elu: null, inFlight: 0, serverCpu: null })
  assert.equal(sample.processes.find((p) => p.name === 'app-2')?.status, 'ejected')
  assert.deepEqual(sample.edges.find((e) => e.from === 'gateway' && e.to === 'app-1'), { from: 'gateway', to: 'app-1', perSecond: 50 })
  assert.deepEqual(sample.edges.find((e) => e.from === 'app-1' && e.to === 'postgres-primary'), { from: 'app-1', to: 'postgres-primary', perSecond: 20 })
  assert.deepEqual(sample.edges.find((e) => e.from === 'app-1' && e.to === 'redis'), { from: 'app-1', to: 'redis', perSecond: 20 })
  assert.equal(sample.cache?.hitRatio, 30 / 40)
  assert.equal(sample.cache?.redisOpsPerSecond, 42)
  assert.equal(sample.total.requestsPerSecond, 50)
  const replica = sample.database.find((d) => d.name === 'postgres-replica-1')
  assert.deepEqual([replica?.role, replica?.lagBytes, replica?.lagSeconds], ['replica', 0x800, 0.5])
  assert.equal(sample.database.find((d) => d.name === 'postgres-primary')?.queriesPerSecond, 100, 'statements per second when statement statistics are on')
  assert.equal(sample.processes.find((p) => p.name === 'postgres-replica-1')?.dataRole, 'replica')
  assert.equal(lsnBytes('1/0'), 2 ** 32)
})

/** Sources that answer from tables; a name in `failing` throws, one in `slow` never answers. */
function fakeSources (texts: Map<string, () => string>, failing: Set<string>, slow: Set<string>): DashboardSources {
  return {
    async metrics (url) {
      if (failing.has(url)) throw new Error('refused')
      if (slow.has(url)) return await new Promise<string>(() => {})
      return texts.get(url)?.() ?? ''
    },
    async postgres (name) {
      if (failing.has(name)) throw new Error('refused')
      return { at: Date.now(), inRecovery: false, lsn: '0/0', statements: null, transactions: 0, connections: 1, replayLagSeconds: null }
    },
    async redis () { return { opsPerSecond: 1, usedMemoryBytes: 1 } },
    async close () {},
  }
}

test('collector: a failing or slow source leaves its figures out within the budget and never blocks the others', async () => {
  const processes = [proc('app-1', 'app'), proc('app-2', 'app'), proc('app-3', 'app'), proc('postgres-primary', 'postgres')]
  let n = 0
  const texts = new Map([['http://app-1/metrics', () => appText({ buckets: [['+Inf', (n += 10)]] })]])
  const sources = fakeSources(texts, new Set(['http://app-2/metrics', 'postgres-primary']), new Set(['http://app-3/metrics']))
  const info = { processes, url: 'http://x' } as unknown as StackInfo
  const collector = new DashboardCollector({ host: { info: () => info, serverCpu: () => undefined, cacheRedis: () => undefined, jobStats: () => undefined }, sources: () => sources, budgetMs: 100 })
  await collector.collect(0)
  const started = Date.now()
  const sample = await collector.collect(1000)
  assert.ok(Date.now() - started < 1000, 'the slow source did not hold the sample up')
  assert.ok((sample.instances.find((i) => i.name === 'app-1')?.requestsPerSecond ?? 0) > 0)
  for (const name of ['app-2', 'app-3']) assert.equal(sample.instances.find((i) => i.name === name)?.elu, null, `${name} has no figures`)
  assert.deepEqual(sample.database, [], 'the unreachable database is left out')
  assert.equal(collector.history().length, 2)
  await collector.close()
})

test('collector: samples only while someone watches, and stops after the last one leaves', async () => {
  const info = { processes: [proc('app-1', 'app')], url: 'http://x' } as unknown as StackInfo
  let reads = 0
  const sources: DashboardSources = { ...fakeSources(new Map(), new Set(), new Set()), metrics: async () => { reads++; return '' } }
  const collector = new DashboardCollector({ host: { info: () => info, serverCpu: () => undefined, cacheRedis: () => undefined, jobStats: () => undefined }, sources: () => sources, intervalMs: 20, idleStopMs: 50 })
  await new Promise((resolve) => setTimeout(resolve, 60))
  assert.equal(reads, 0, 'nobody watches: nothing is read')
  const seen: number[] = []
  const unsubscribe = collector.subscribe((s) => { seen.push(s.t) })
  await new Promise((resolve) => setTimeout(resolve, 120))
  assert.ok(seen.length >= 3, `${seen.length} samples`)
  unsubscribe()
  await new Promise((resolve) => setTimeout(resolve, 150))
  assert.equal(collector.running, false)
  const after = reads
  await new Promise((resolve) => setTimeout(resolve, 80))
  assert.equal(reads, after, 'stopped: nothing more is read')
  await collector.close()
})
