import client from 'prom-client'
import type { UpstreamCluster } from './cluster.js'
import type { RetryBudget } from './retry-budget.js'
import type { Upstream } from './upstream.js'
import { LATENCY_BUCKETS } from './upstream-stats.js'

type Labels = Record<string, string | number>
interface Sample { readonly labels: Labels, readonly value: number, readonly metricName?: string }
type Kind = 'counter' | 'gauge' | 'histogram'

/**
 * A metric family read from plain fields at scrape time. The hot path keeps incrementing numbers
 * (upstream-stats.ts); this only shapes them as prom-client's metric objects, so the registry can
 * render them and the cluster aggregator can merge them across processes by `aggregator`.
 */
function family (registry: client.Registry, name: string, help: string, type: Kind, aggregator: client.Aggregator, samples: () => Sample[]): void {
  const metric = { name, help, type, aggregator, get: async () => ({ name, help, type, aggregator, values: samples() }) }
  registry.registerMetric(metric as unknown as client.Metric)
}

function latencySamples (u: Upstream): Sample[] {
  const name = 'outgrow_gateway_upstream_latency_seconds'
  let cumulative = 0
  const buckets = LATENCY_BUCKETS.map((le, i) => {
    cumulative += u.stats.latencyCounts[i] as number
    return { labels: { upstream: u.id, le }, value: cumulative, metricName: `${name}_bucket` }
  })
  return [...buckets,
    { labels: { upstream: u.id, le: '+Inf' }, value: u.stats.latencyCount, metricName: `${name}_bucket` },
    { labels: { upstream: u.id }, value: u.stats.latencySum, metricName: `${name}_sum` },
    { labels: { upstream: u.id }, value: u.stats.latencyCount, metricName: `${name}_count` }]
}

const BREAKER_VALUE = { closed: 0, open: 1, 'half-open': 0.5 } as const

/**
 * The gateway's per-upstream metrics in a registry of their own (one per gateway, so several
 * gateways in one process each report their own instances). Label `upstream` names the instance:
 * `instance` is the label Prometheus gives every scraped target. How each family merges across the
 * processes of one gateway is its aggregator: counts add up; `healthy` is the minimum (an instance
 * any process refuses is shown as refused), the breaker the maximum, the weight the average.
 */
export function upstreamMetricsRegistry (cluster: UpstreamCluster, budgets: readonly RetryBudget[]): client.Registry {
  const registry = new client.Registry()
  const all = (): Upstream[] => [...cluster.members, ...cluster.draining]
  const perUpstream = (value: (u: Upstream, now: number) => number) => (): Sample[] => {
    const now = Date.now()
    return all().map((u) => ({ labels: { upstream: u.id }, value: value(u, now) }))
  }
  family(registry, 'outgrow_gateway_processes', 'Gateway processes whose numbers this scrape adds up (1 unless the gateway runs several processes)', 'gauge', 'sum', () => [{ labels: {}, value: 1 }])
  family(registry, 'outgrow_gateway_requests_total', 'Proxied responses by upstream instance and status class', 'counter', 'sum',
    () => all().flatMap((u) => u.stats.responses.flatMap((n, cls) => cls === 0 ? [] : [{ labels: { upstream: u.id, status: `${cls}xx` }, value: n }])))
  family(registry, 'outgrow_gateway_upstream_failures_total', 'Failed attempts by upstream instance and kind (connect, timeout, reset, status)', 'counter', 'sum',
    () => all().flatMap((u) => Object.entries(u.stats.failures).map(([kind, n]) => ({ labels: { upstream: u.id, kind }, value: n }))))
  family(registry, 'outgrow_gateway_upstream_retries_total', 'Requests that failed on the upstream instance and were retried on another', 'counter', 'sum', perUpstream((u) => u.stats.retriedElsewhere))
  family(registry, 'outgrow_gateway_upstream_latency_seconds', 'Time to response headers per upstream instance', 'histogram', 'sum', () => all().flatMap(latencySamples))
  family(registry, 'outgrow_gateway_upstream_healthy', '1 when every gateway process may send the upstream instance new requests', 'gauge', 'min', perUpstream((u, now) => u.available(now) ? 1 : 0))
  family(registry, 'outgrow_gateway_upstream_in_flight', 'Requests in flight per upstream instance', 'gauge', 'sum', perUpstream((u) => u.active))
  family(registry, 'outgrow_gateway_upstream_ejections_total', 'Times outlier detection ejected the upstream instance, by reason (consecutive failures, failure_rate, latency)', 'counter', 'sum',
    () => all().flatMap((u) => Object.entries(u.ejectionsBy).map(([reason, n]) => ({ labels: { upstream: u.id, reason }, value: n }))))
  family(registry, 'outgrow_gateway_upstream_breaker_open', 'Circuit breaker of the upstream instance: 0 closed, 0.5 half-open, 1 open (the most open over processes)', 'gauge', 'max',
    perUpstream((u, now) => BREAKER_VALUE[u.breaker.state(now)]))
  family(registry, 'outgrow_gateway_upstream_weight', 'Effective weight of the upstream instance after slow start (averaged over processes)', 'gauge', 'average', perUpstream((u, now) => u.effectiveWeight(now)))
  family(registry, 'outgrow_gateway_retries_total', 'Retries sent', 'counter', 'sum', () => [{ labels: {}, value: budgets.reduce((s, b) => s + b.retriesTotal, 0) }])
  family(registry, 'outgrow_gateway_retries_refused_total', 'Retries the retry budget refused', 'counter', 'sum', () => [{ labels: {}, value: budgets.reduce((s, b) => s + b.retriesRefused, 0) }])
  return registry
}
