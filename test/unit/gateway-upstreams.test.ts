import assert from 'node:assert/strict'
import { test } from 'node:test'
import { findBottleneck } from '../../src/lab/bottleneck.js'
import { upstreamTable } from '../../src/lab/capacity-report.js'
import type { CpuWindow, Resident, ServerCpu } from '../../src/lab/cpu-window.js'
import { gatewayReading, upstreamsBetween, type UpstreamStep } from '../../src/lab/gateway-upstreams.js'
import { parsePrometheusText } from '../../src/lab/prometheus-text.js'
import { gatewayIncidents } from '../../src/lab/run-incidents.js'
import { unevenBalanceLine } from '../../src/lab/upstream-balance.js'

/** A gateway scrape as upstream-metrics.ts renders it, for three instances. */
function scrape (u: Record<string, { ok: number, err?: number, timeout?: number, ejections?: number, healthy?: 0 | 1, breaker?: number }>): string {
  const lines = ['# HELP outgrow_gateway_requests_total Proxied responses', '# TYPE outgrow_gateway_requests_total counter']
  for (const [id, v] of Object.entries(u)) {
    lines.push(`outgrow_gateway_requests_total{upstream="${id}",status="2xx"} ${v.ok}`)
    lines.push(`outgrow_gateway_requests_total{upstream="${id}",status="5xx"} ${v.err ?? 0}`)
    for (const kind of ['connect', 'timeout', 'reset', 'status']) lines.push(`outgrow_gateway_upstream_failures_total{upstream="${id}",kind="${kind}"} ${kind === 'timeout' ? v.timeout ?? 0 : 0}`)
    lines.push(`outgrow_gateway_upstream_ejections_total{upstream="${id}"} ${v.ejections ?? 0}`)
    lines.push(`outgrow_gateway_upstream_healthy{upstream="${id}"} ${v.healthy ?? 1}`)
    lines.push(`outgrow_gateway_upstream_breaker_open{upstream="${id}"} ${v.breaker ?? 0}`)
    lines.push(`outgrow_gateway_upstream_weight{upstream="${id}"} 1`)
    lines.push(`outgrow_gateway_upstream_latency_seconds_count{upstream="${id}"} ${v.ok}`)
  }
  lines.push('outgrow_gateway_retries_total 4')
  return lines.join('\n')
}

const reading = (text: string): ReturnType<typeof gatewayReading> => gatewayReading(parsePrometheusText(text))

const start = reading(scrape({ 'app-1': { ok: 1000 }, 'app-2': { ok: 990, timeout: 3, ejections: 4 }, 'app-3': { ok: 1010 } }))
const middle = reading(scrape({ 'app-1': { ok: 1500 }, 'app-2': { ok: 1000, timeout: 9, ejections: 6, healthy: 0 }, 'app-3': { ok: 1510 } }))
const end = reading(scrape({ 'app-1': { ok: 2400, err: 2 }, 'app-2': { ok: 1090, timeout: 9, ejections: 6 }, 'app-3': { ok: 2410 } }))

test('each upstream over a step: responses, failures by kind and ejections are differences of two scrapes, state from any sample', () => {
  const rows = upstreamsBetween(start, end, [middle])
  assert.deepEqual(rows.map((r) => r.upstream), ['app-1', 'app-2', 'app-3'])
  const [one, two, three] = rows as [UpstreamStep, UpstreamStep, UpstreamStep]
  assert.equal(one.responses, 1402)
  assert.equal(two.responses, 100)
  assert.equal(three.responses, 1400)
  assert.equal(two.share, 0.034)
  assert.deepEqual(two.failures, { timeout: 6 })
  assert.deepEqual(one.failures, {})
  assert.equal(two.ejections, 2)
  assert.equal(two.ejectionsTotal, 6)
  assert.equal(one.ejections, 0)
  assert.equal(two.outOfRotation, true, 'the middle sample saw it out of rotation')
  assert.equal(one.outOfRotation, false)
  assert.equal(two.breakerOpen, false)
  // Without the middle sample, the end alone shows it back in rotation.
  assert.equal((upstreamsBetween(start, end)[1] as UpstreamStep).outOfRotation, false)
})

test('an upstream that joined during the step counts from zero; a gateway restart (counters lower) counts from its restart', () => {
  const joined = upstreamsBetween(reading(scrape({ 'app-1': { ok: 100 } })), reading(scrape({ 'app-1': { ok: 150 }, 'app-4': { ok: 50, ejections: 1 } })))
  assert.deepEqual(joined.map((r) => [r.upstream, r.responses, r.ejections, r.share]), [['app-1', 50, 0, 0.5], ['app-4', 50, 1, 0.5]])
  const restarted = upstreamsBetween(reading(scrape({ 'app-1': { ok: 5000, ejections: 3 } })), reading(scrape({ 'app-1': { ok: 40 } })))
  assert.deepEqual(restarted.map((r) => [r.responses, r.ejections]), [[40, 0]])
})

test('a rise of an upstream\'s ejection counter in a step is an incident of that step; an open breaker too; a quiet step has none', () => {
  const rows = upstreamsBetween(start, end, [middle])
  assert.deepEqual(gatewayIncidents(rows), ['gateway ejected app-2 (2×)'])
  const breaker = upstreamsBetween(start, reading(scrape({ 'app-1': { ok: 1100 }, 'app-2': { ok: 1000, ejections: 4, breaker: 1 }, 'app-3': { ok: 1100 } })))
  assert.deepEqual(gatewayIncidents(breaker), ['gateway\'s breaker for app-2 open'])
  assert.deepEqual(gatewayIncidents(upstreamsBetween(start, start)), [])
  assert.deepEqual(gatewayIncidents(undefined), [])
})

test('an ejection incident says why the gateway ejected, from its reason label', () => {
  const withReasons = (latency: number, rate: number): string => [
    `outgrow_gateway_requests_total{upstream="app-2",status="2xx"} 10`,
    `outgrow_gateway_upstream_ejections_total{upstream="app-2",reason="consecutive"} 0`,
    `outgrow_gateway_upstream_ejections_total{upstream="app-2",reason="failure_rate"} ${rate}`,
    `outgrow_gateway_upstream_ejections_total{upstream="app-2",reason="latency"} ${latency}`,
  ].join('\n')
  const rows = upstreamsBetween(reading(withReasons(1, 0)), reading(withReasons(3, 1)))
  assert.equal(rows[0]?.ejections, 3)
  assert.deepEqual(rows[0]?.ejectionsBy, { failure_rate: 1, latency: 2 })
  assert.deepEqual(gatewayIncidents(rows), ['gateway ejected app-2 (3×: failure rate 1, slow 2)'])
})

const row = (upstream: string, share: number, extra: Partial<UpstreamStep> = {}): UpstreamStep =>
  ({ upstream, responses: Math.round(share * 1000), share, failures: {}, ejections: 0, ejectionsBy: {}, ejectionsTotal: 0, outOfRotation: false, breakerOpen: false, ...extra })

test('an upstream under half its fair share is named with the cause the gateway shows; an even balance names none', () => {
  assert.equal(unevenBalanceLine([row('app-1', 0.34), row('app-2', 0.33), row('app-3', 0.33)]), undefined)
  assert.equal(unevenBalanceLine([row('app-1', 0.4), row('app-2', 0.2), row('app-3', 0.4)]), undefined, '0.2 is not under half of a third')
  assert.equal(unevenBalanceLine([row('app-1', 0.48), row('app-2', 0.04, { ejections: 2, ejectionsTotal: 6, outOfRotation: true }), row('app-3', 0.48)]),
    'app-2 got 4 % of the responses (fair share 33 %): ejected 2 times by outlier detection')
  assert.equal(unevenBalanceLine([row('app-1', 0.48), row('app-2', 0.04, { breakerOpen: true }), row('app-3', 0.48)]),
    'app-2 got 4 % of the responses (fair share 33 %): breaker open')
  assert.equal(unevenBalanceLine([row('app-1', 0.48), row('app-2', 0.04, { outOfRotation: true }), row('app-3', 0.48)]),
    'app-2 got 4 % of the responses (fair share 33 %): unhealthy (out of rotation by its health checks)')
  assert.equal(unevenBalanceLine([row('app-1', 0.48), row('app-2', 0.04, { outOfRotation: true, ejectionsTotal: 5 }), row('app-3', 0.48)]),
    'app-2 got 4 % of the responses (fair share 33 %): out of rotation (unhealthy, or still ejected: 5 ejections before)')
  assert.equal(unevenBalanceLine([row('app-1', 0.48), row('app-2', 0.04), row('app-3', 0.48)]),
    'app-2 got 4 % of the responses (fair share 33 %): none visible in the gateway\'s metrics')
  assert.equal(unevenBalanceLine([row('app-1', 1)]), undefined, 'one instance has nothing to be uneven with')
})

function appServer (name: string, utilization: number): ServerCpu {
  return { server: name, residents: [{ name, role: 'app' }], usedCores: utilization * 0.25, quotaCores: 0.25, utilization, throttledShare: 0.3, source: 'cgroup' }
}

test('the bottleneck line for uneven balancing names the cause; without one it says what it said before', () => {
  const servers = [appServer('app-1', 0.95), appServer('app-3', 0.92), appServer('app-2', 0.06), { ...appServer('gateway', 0.4), residents: [{ name: 'gateway', role: 'gateway' as Resident['role'] }] }]
  const window: CpuWindow = { seconds: 10, servers, machine: { cores: 2, busyCores: 1.2, stackCores: 0.9, otherCores: 0.3 } }
  const line = unevenBalanceLine([row('app-1', 0.48), row('app-2', 0.04, { ejections: 2 }), row('app-3', 0.48)])
  const named = findBottleneck(window, { unevenBalance: line })
  assert.match(named.verdict, /even out the balancing/)
  assert.match(named.advice, /spreads load unevenly \(app-2 got 4 % of the responses \(fair share 33 %\): ejected 2 times by outlier detection\); fix that/)
  assert.ok(!named.advice.includes('Uneven balancing:'), 'named once')
  assert.doesNotMatch(findBottleneck(window).advice, /app-2 got/)
  // Whatever else ran out, an uneven balance is still named.
  const none = findBottleneck({ ...window, servers: servers.map((s) => ({ ...s, utilization: 0.3, throttledShare: 0 })) }, { unevenBalance: line })
  assert.equal(none.kind, 'none')
  assert.match(none.advice, /Uneven balancing: app-2 got 4 %/)
})

test('the knee table gives each instance its share, failures, ejections and state, and the uneven balance', () => {
  const table = upstreamTable(upstreamsBetween(start, end, [middle]))
  assert.match(table, /\| app-1 \| 48\.3 % \| 1402 \| — \| 0 \(0\) \| no \| no \|/)
  assert.match(table, /\| app-2 \| 3\.4 % \| 100 \| timeout 6 \| 2 \(6\) \| \*\*yes\*\* \| no \|/)
  assert.match(table, /\*\*Uneven balancing:\*\* app-2 got 3 % of the responses \(fair share 33 %\): ejected 2 times by outlier detection\./)
  assert.equal(upstreamTable(undefined), '', 'no gateway, no table')
})
