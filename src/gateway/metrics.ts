import client from 'prom-client'
import { registry } from '../runtime/metrics.js'
import type { UpstreamCluster } from './cluster.js'
import type { RetryBudget } from './retry-budget.js'

const requests = new client.Counter({
  name: 'outgrow_gateway_requests_total', help: 'Proxied requests by instance and status class', labelNames: ['instance', 'status'] as const, registers: [registry],
})
const failures = new client.Counter({
  name: 'outgrow_gateway_upstream_failures_total', help: 'Failed attempts by instance and kind (connect, timeout, reset, status)', labelNames: ['instance', 'kind'] as const, registers: [registry],
})
const latency = new client.Histogram({
  name: 'outgrow_gateway_upstream_latency_seconds', help: 'Time to response headers per instance',
  labelNames: ['instance'] as const, buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers: [registry],
})
const local = new client.Counter({
  name: 'outgrow_gateway_local_responses_total', help: 'Responses the gateway gave itself (static, rate limited, no instance, errors)', labelNames: ['reason'] as const, registers: [registry],
})

export interface InstanceMetrics {
  requests(statusClass: string): void
  failure(kind: string): void
  latency(seconds: number): void
}

const cache = new Map<string, InstanceMetrics>()

/** Label-bound metric children per instance, created once (no label lookup per request). */
export function instanceMetrics (id: string): InstanceMetrics {
  let m = cache.get(id)
  if (m === undefined) {
    const byClass = new Map<string, client.Counter.Internal>()
    const lat = latency.labels(id)
    m = {
      requests (statusClass) {
        let c = byClass.get(statusClass)
        if (c === undefined) byClass.set(statusClass, c = requests.labels(id, statusClass))
        c.inc()
      },
      failure (kind) { failures.labels(id, kind).inc() },
      latency (seconds) { lat.observe(seconds) },
    }
    cache.set(id, m)
  }
  return m
}

export function countLocal (reason: string): void {
  local.labels(reason).inc()
}

/** Prometheus text: process and request metrics plus point-in-time instance state. */
export async function gatewayMetricsText (cluster: UpstreamCluster, budgets: readonly RetryBudget[]): Promise<string> {
  const now = Date.now()
  const all = [...cluster.members, ...cluster.draining]
  const gauge = (name: string, help: string, value: (u: typeof all[number]) => number): string[] => [
    `# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...all.map((u) => `${name}{instance="${u.id}"} ${value(u)}`),
  ]
  const lines = [
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
