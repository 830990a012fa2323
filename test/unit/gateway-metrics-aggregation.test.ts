import assert from 'node:assert/strict'
import { test } from 'node:test'
import client from 'prom-client'
import type { UpstreamCluster } from '../../src/gateway/cluster.js'
import { upstreamMetricsRegistry } from '../../src/gateway/upstream-metrics.js'
import { UpstreamStats } from '../../src/gateway/upstream-stats.js'
import { parsePrometheusText, sumSamples } from '../../src/lab/prometheus-text.js'

/** What one gateway process knows of instance `a`. */
function processView (options: { requests: number, available: boolean, active: number, breaker: 'closed' | 'open', weight: number }): client.Registry {
  const stats = new UpstreamStats()
  for (let i = 0; i < options.requests; i++) { stats.response(200); stats.latency(0.002) }
  const upstream = {
    id: 'a', stats, active: options.active, ejections: options.available ? 0 : 1, ejectionsBy: { consecutive: 0, failure_rate: 0, latency: options.available ? 0 : 1 },
    available: () => options.available, effectiveWeight: () => options.weight, breaker: { state: () => options.breaker },
  }
  return upstreamMetricsRegistry({ members: [upstream], draining: new Set() } as unknown as UpstreamCluster, [])
}

test('two gateway processes merge as documented: counts add up, healthy is the minimum, the breaker the maximum, the weight the mean', async () => {
  const one = processView({ requests: 3, available: true, active: 1, breaker: 'closed', weight: 1 })
  const two = processView({ requests: 4, available: false, active: 2, breaker: 'open', weight: 0.5 })
  const merged = client.AggregatorRegistry.aggregate([await one.getMetricsAsJSON(), await two.getMetricsAsJSON()])
  const samples = parsePrometheusText(await merged.metrics())
  assert.equal(sumSamples(samples, 'outgrow_gateway_processes'), 2)
  assert.equal(sumSamples(samples, 'outgrow_gateway_requests_total', { upstream: 'a', status: '2xx' }), 7)
  assert.equal(sumSamples(samples, 'outgrow_gateway_upstream_latency_seconds_count', { upstream: 'a' }), 7)
  assert.equal(sumSamples(samples, 'outgrow_gateway_upstream_latency_seconds_bucket', { upstream: 'a', le: '0.0025' }), 7)
  assert.equal(sumSamples(samples, 'outgrow_gateway_upstream_latency_seconds_bucket', { upstream: 'a', le: '0.001' }), 0)
  assert.equal(sumSamples(samples, 'outgrow_gateway_upstream_healthy', { upstream: 'a' }), 0, 'one process refuses it: shown as refused')
  assert.equal(sumSamples(samples, 'outgrow_gateway_upstream_breaker_open', { upstream: 'a' }), 1)
  assert.equal(sumSamples(samples, 'outgrow_gateway_upstream_weight', { upstream: 'a' }), 0.75)
  assert.equal(sumSamples(samples, 'outgrow_gateway_upstream_in_flight', { upstream: 'a' }), 3)
  assert.equal(sumSamples(samples, 'outgrow_gateway_upstream_ejections_total', { upstream: 'a' }), 1)
  assert.equal(sumSamples(samples, 'outgrow_gateway_upstream_ejections_total', { upstream: 'a', reason: 'latency' }), 1)
  assert.match(await merged.metrics(), /# TYPE outgrow_gateway_upstream_latency_seconds histogram/)
})
