import client from 'prom-client'
import { registry } from '../runtime/metrics.js'
import { scrapeAllProcesses, scrapesAggregated } from './worker-metrics.js'

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

/**
 * Prometheus text for one scrape: this process's registry and the gateway's per-upstream
 * families; in a gateway of several processes, every process's, merged by the primary.
 */
export async function gatewayMetricsText (upstreams: client.Registry): Promise<string> {
  if (scrapesAggregated()) return await scrapeAllProcesses()
  return await client.Registry.merge([registry, upstreams]).metrics()
}
