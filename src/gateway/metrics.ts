import client from 'prom-client'
import { registry } from '../runtime/metrics.js'
import type { UpstreamCluster } from './cluster.js'
import type { RetryBudget } from './retry-budget.js'
import { LATENCY_BUCKETS } from './upstream-stats.js'

const local = new client.Counter({
  name: 'outgrow_gateway_local_responses_total', help: 'Responses the gateway gave itself (static, rate limited, no instance, errors)', labelNames: ['reason'] as const, registers: [registry],
})

export function countLocal (reason: string): void {
  local.labels(reason).inc()
}

const rateLimitStoreErrors = new client.Counter({
  name: 'outgrow_gateway_rate_limit_store_errors_total', help: 'Rate-limit checks the shared store failed, by what the gateway did (rateLimitStore.onError)', labelNames: ['outcome'] as const, registers: [registry],
})

export function countRateLimitStoreError (outcome: 'allowed' | 'refused'): void {
  rateLimitStoreErrors.labels(outcome).inc()
}

/** Prometheus text: process and request metrics plus point-in-time instance state. */
export async function gatewayMetricsText (cluster: UpstreamCluster, budgets: readonly RetryBudget[]): Promise<string> {
  const now = Date.now()
  const all = [...cluster.members, ...cluster.draining]
  const gauge = (name: string, help: string, value: (u: typeof all[number]) => number): string[] => [
    `# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...all.map((u) => `${name}{instance="${u.id}"} ${value(u)}`),
  ]
  const lines = [
    '# HELP outgrow_gateway_requests_total Proxied responses by instance and status class', '# TYPE outgrow_gateway_requests_total counter',
    ...all.flatMap((u) => u.stats.responses.flatMap((n, cls) => cls === 0 ? [] : [`outgrow_gateway_requests_total{instance="${u.id}",status="${cls}xx"} ${n}`])),
    '# HELP outgrow_gateway_upstream_failures_total Failed attempts by instance and kind', '# TYPE outgrow_gateway_upstream_failures_total counter',
    ...all.flatMap((u) => Object.entries(u.stats.failures).map(([kind, n]) => `outgrow_gateway_upstream_failures_total{instance="${u.id}",kind="${kind}"} ${n}`)),
    '# HELP outgrow_gateway_upstream_retries_total Requests that failed on the instance and were retried on another', '# TYPE outgrow_gateway_upstream_retries_total counter',
    ...all.map((u) => `outgrow_gateway_upstream_retries_total{instance="${u.id}"} ${u.stats.retriedElsewhere}`),
    '# HELP outgrow_gateway_upstream_latency_seconds Time to response headers per instance', '# TYPE outgrow_gateway_upstream_latency_seconds histogram',
    ...all.flatMap((u) => {
      let cumulative = 0
      const buckets = LATENCY_BUCKETS.map((le, i) => {
        cumulative += u.stats.latencyCounts[i] as number
        return `outgrow_gateway_upstream_latency_seconds_bucket{instance="${u.id}",le="${le}"} ${cumulative}`
      })
      return [...buckets,
        `outgrow_gateway_upstream_latency_seconds_bucket{instance="${u.id}",le="+Inf"} ${u.stats.latencyCount}`,
        `outgrow_gateway_upstream_latency_seconds_sum{instance="${u.id}"} ${u.stats.latencySum}`,
        `outgrow_gateway_upstream_latency_seconds_count{instance="${u.id}"} ${u.stats.latencyCount}`]
    }),
    ...gauge('outgrow_gateway_upstream_healthy', '1 when the instance may take new requests', (u) => u.available(now) ? 1 : 0),
    ...gauge('outgrow_gateway_upstream_active', 'Requests in flight per instance', (u) => u.active),
    ...gauge('outgrow_gateway_upstream_ejections', 'Times outlier detection ejected the instance', (u) => u.ejections),
    ...gauge('outgrow_gateway_upstream_breaker_open', '0 closed, 1 open, 0.5 half-open', (u) => ({ closed: 0, open: 1, 'half-open': 0.5 })[u.breaker.state(now)]),
    ...gauge('outgrow_gateway_upstream_weight', 'Effective weight (after slow start)', (u) => u.effectiveWeight(now)),
    '# HELP outgrow_gateway_retries_total Retries sent', '# TYPE outgrow_gateway_retries_total counter',
    `outgrow_gateway_retries_total ${budgets.reduce((s, b) => s + b.retriesTotal, 0)}`,
    '# HELP outgrow_gateway_retries_refused_total Retries the retry budget refused', '# TYPE outgrow_gateway_retries_refused_total counter',
    `outgrow_gateway_retries_refused_total ${budgets.reduce((s, b) => s + b.retriesRefused, 0)}`,
  ]
  return `${await registry.metrics()}\n${lines.join('\n')}\n`
}
