import type { HistogramBucket } from '../control/autoscaler/metrics-source.js'
import { parsePrometheusText, sumSamples, type Sample } from '../lab/prometheus-text.js'

/**
 * One scrape of a process's /metrics, reduced to the counters and gauges the dashboard draws.
 * Counters stay cumulative here; sample-math.ts turns two readings into rates.
 */

const DURATION = 'outgrow_http_request_duration_seconds'

export interface QueueReading {
  readonly waiting: number
  readonly active: number
  readonly delayed: number
  readonly failed: number
  readonly oldestWaitingSeconds: number | null
}

/** An app instance or a worker. */
export interface AppReading {
  /** ms since the epoch, when the scrape answered. */
  readonly at: number
  readonly requests: number
  readonly errors: number
  readonly buckets: readonly HistogramBucket[]
  readonly elu: number
  readonly inFlight: number
  readonly dbPrimary: number
  readonly dbReplica: number
  readonly cacheHits: number
  readonly cacheMisses: number
  readonly jobsCompleted: number
  readonly jobRunSeconds: number
  readonly jobRuns: number
  /** In-process queues (levels 1–3) as the instance reports them. */
  readonly queues: ReadonlyMap<string, QueueReading>
}

export interface GatewayReading {
  readonly at: number
  /** Responses per upstream id (an app instance's process name), every status class. */
  readonly requests: ReadonlyMap<string, number>
  readonly errors: ReadonlyMap<string, number>
  /** 0 when the gateway keeps new requests away from the upstream (ejected, breaker open, failing checks). */
  readonly healthy: ReadonlyMap<string, boolean>
  /** Time to response headers over every upstream, for the stack's p99. */
  readonly buckets: readonly HistogramBucket[]
}

export function bucketsOf (samples: readonly Sample[], metric: string): HistogramBucket[] {
  const byBound = new Map<number, number>()
  for (const s of samples) {
    if (s.name !== `${metric}_bucket` || s.labels.le === undefined) continue
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le)
    byBound.set(le, (byBound.get(le) ?? 0) + s.value)
  }
  return [...byBound].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le)
}

function queuesOf (samples: readonly Sample[]): Map<string, QueueReading> {
  const queues = new Map<string, { waiting: number, active: number, delayed: number, failed: number, oldestWaitingSeconds: number | null }>()
  const of = (name: string): { waiting: number, active: number, delayed: number, failed: number, oldestWaitingSeconds: number | null } => {
    let q = queues.get(name)
    if (q === undefined) queues.set(name, q = { waiting: 0, active: 0, delayed: 0, failed: 0, oldestWaitingSeconds: null })
    return q
  }
  for (const s of samples) {
    const queue = s.labels.queue
    if (queue === undefined) continue
    if (s.name === 'outgrow_job_queue_jobs') {
      const state = s.labels.state
      if (state === 'waiting' || state === 'active' || state === 'delayed' || state === 'failed') of(queue)[state] += s.value
    } else if (s.name === 'outgrow_job_queue_oldest_waiting_seconds') {
      of(queue).oldestWaitingSeconds = s.value
    }
  }
  return queues
}

/** The families parseAppMetrics reads: the dashboard asks an app for these only, every second. */
export const APP_FAMILIES: readonly string[] = [
  DURATION, 'outgrow_event_loop_utilization', 'outgrow_http_in_flight', 'outgrow_db_queries_total', 'outgrow_cache_requests_total',
  'outgrow_jobs_total', 'outgrow_job_run_seconds', 'outgrow_job_queue_jobs', 'outgrow_job_queue_oldest_waiting_seconds',
]

export function parseAppMetrics (text: string, at: number): AppReading {
  const samples = parsePrometheusText(text)
  return {
    at,
    requests: sumSamples(samples, `${DURATION}_count`),
    errors: sumSamples(samples, `${DURATION}_count`, { status: '5xx' }),
    buckets: bucketsOf(samples, DURATION),
    elu: sumSamples(samples, 'outgrow_event_loop_utilization'),
    inFlight: sumSamples(samples, 'outgrow_http_in_flight'),
    dbPrimary: sumSamples(samples, 'outgrow_db_queries_total', { target: 'primary' }),
    dbReplica: sumSamples(samples, 'outgrow_db_queries_total', { target: 'replica' }),
    cacheHits: sumSamples(samples, 'outgrow_cache_requests_total', { result: 'hit' }),
    cacheMisses: sumSamples(samples, 'outgrow_cache_requests_total', { result: 'miss' }),
    jobsCompleted: sumSamples(samples, 'outgrow_jobs_total', { outcome: 'completed' }),
    jobRunSeconds: sumSamples(samples, 'outgrow_job_run_seconds_sum'),
    jobRuns: sumSamples(samples, 'outgrow_job_run_seconds_count'),
    queues: queuesOf(samples),
  }
}

/** The upstream label: `upstream` (Prometheus keeps `instance` for itself), `instance` before the rename. */
const upstreamOf = (s: Sample): string | undefined => s.labels.upstream ?? s.labels.instance

export function parseGatewayMetrics (text: string, at: number): GatewayReading {
  const requests = new Map<string, number>()
  const errors = new Map<string, number>()
  const healthy = new Map<string, boolean>()
  const samples = parsePrometheusText(text)
  for (const s of samples) {
    const id = upstreamOf(s)
    if (id === undefined) continue
    if (s.name === 'outgrow_gateway_requests_total') {
      requests.set(id, (requests.get(id) ?? 0) + s.value)
      if (s.labels.status === '5xx') errors.set(id, (errors.get(id) ?? 0) + s.value)
    } else if (s.name === 'outgrow_gateway_upstream_healthy') {
      healthy.set(id, s.value > 0)
    }
  }
  return { at, requests, errors, healthy, buckets: bucketsOf(samples, 'outgrow_gateway_upstream_latency_seconds') }
}
