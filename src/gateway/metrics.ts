import { registry } from '../runtime/metrics.js'
import type { Upstream } from './upstream.js'

/** Prometheus text for the gateway: process metrics plus per-instance health and load. */
export async function gatewayMetrics (upstreams: readonly Upstream[]): Promise<string> {
  const lines = [
    '# HELP outgrow_gateway_upstream_healthy 1 when the instance is in rotation',
    '# TYPE outgrow_gateway_upstream_healthy gauge',
    ...upstreams.map((u) => `outgrow_gateway_upstream_healthy{instance="${u.id}"} ${u.healthy ? 1 : 0}`),
    '# HELP outgrow_gateway_upstream_active Requests in flight per instance',
    '# TYPE outgrow_gateway_upstream_active gauge',
    ...upstreams.map((u) => `outgrow_gateway_upstream_active{instance="${u.id}"} ${u.active}`),
  ]
  return `${await registry.metrics()}\n${lines.join('\n')}\n`
}
