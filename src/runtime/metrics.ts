import { performance, type EventLoopUtilization } from 'node:perf_hooks'
import client from 'prom-client'

/** The process-wide Prometheus registry and the metrics every layer records into. */
export const registry = new client.Registry()
client.collectDefaultMetrics({ register: registry })

export const httpRequests = new client.Histogram({
  name: 'outgrow_http_request_duration_seconds',
  help: 'HTTP requests served by this process, by route and status class',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
})

export const dbQueries = new client.Counter({
  name: 'outgrow_db_queries_total',
  help: 'Queries sent to the database, by target (primary or replica)',
  labelNames: ['target'] as const,
  registers: [registry],
})

export const dbReadRouting = new client.Counter({
  name: 'outgrow_db_read_routing_total',
  help: 'Reads routed, by reason (replica, primary_down, no_replica, replica_behind, primary_only)',
  labelNames: ['reason'] as const,
  registers: [registry],
})

export const cacheRequests = new client.Counter({
  name: 'outgrow_cache_requests_total',
  help: 'Cache look-ups, by result (hit or miss)',
  labelNames: ['result'] as const,
  registers: [registry],
})

export const jobsProcessed = new client.Counter({
  name: 'outgrow_jobs_total',
  help: 'Jobs by name and outcome (enqueued, not_enqueued, completed, failed)',
  labelNames: ['name', 'outcome'] as const,
  registers: [registry],
})

// The event loop's busy fraction since the previous scrape. A Node server saturates when its one
// loop is busy, which process CPU time (summed over GC and libuv threads) can hide; autoscalers read this.
let lastEventLoop: EventLoopUtilization = performance.eventLoopUtilization()

export const eventLoopUtilization = new client.Gauge({
  name: 'outgrow_event_loop_utilization',
  help: 'Fraction of time the event loop was busy since the previous scrape (0 to 1)',
  registers: [registry],
  // A gateway of several processes reports their mean (worker-metrics.ts).
  aggregator: 'average',
  collect () {
    const now = performance.eventLoopUtilization()
    this.set(performance.eventLoopUtilization(now, lastEventLoop).utilization)
    lastEventLoop = now
  },
})

export const httpInFlight = new client.Gauge({
  name: 'outgrow_http_in_flight',
  help: 'HTTP requests being served by this process, health and metrics requests excluded',
  registers: [registry],
})

export const httpStreamsOpen = new client.Gauge({
  name: 'outgrow_http_streams_open',
  help: 'Long-lived event streams (Server-Sent Events) open on this process; not counted in outgrow_http_in_flight',
  registers: [registry],
})

export const dependencyUp = new client.Gauge({
  name: 'outgrow_dependency_up',
  help: 'Whether an engine this process depends on answered at last look (1) or not (0)',
  labelNames: ['dependency'] as const,
  registers: [registry],
})

export const cacheLeases = new client.Counter({
  name: 'outgrow_cache_leases_total',
  help: 'What became of cache leases: filled (a loaded value stored), refused (its lease was voided by a delete), stale_served (a stale value served while one loader refreshes), wait_expired (waited for another loader in vain, loaded uncached)',
  labelNames: ['outcome'] as const,
  registers: [registry],
})

export const cacheL1Requests = new client.Counter({
  name: 'outgrow_cache_l1_requests_total',
  help: 'Look-ups in the in-process tier of the tiered cache, by result (hit, stale or miss: a miss asks Redis)',
  labelNames: ['result'] as const,
  registers: [registry],
})

export const cacheBusMessages = new client.Counter({
  name: 'outgrow_cache_bus_messages_total',
  help: 'Invalidations received from other instances on the cache bus, and times the bus was lost (the in-process tier is then emptied)',
  labelNames: ['event'] as const,
  registers: [registry],
})

export const cacheErrors = new client.Counter({
  name: 'outgrow_cache_errors_total',
  help: 'Cache operations that failed and were skipped (get served as a miss), by operation',
  labelNames: ['operation'] as const,
  registers: [registry],
})

export const cacheDegraded = new client.Gauge({
  name: 'outgrow_cache_degraded',
  help: 'Whether the shared cache fails open (1: its breaker is open, every read comes from the database) or not (0)',
  registers: [registry],
})

export const writeBehindWrites = new client.Counter({
  name: 'outgrow_write_behind_writes_total',
  help: 'Deferred writes by stream and outcome (appended, not_appended, applied, skipped: already applied before a redelivery)',
  labelNames: ['stream', 'outcome'] as const,
  registers: [registry],
})

export const writeBehindBatches = new client.Counter({
  name: 'outgrow_write_behind_batches_total',
  help: 'Write-behind batches by stream and outcome (applied, failed: retried, fenced: another consumer took the partition over)',
  labelNames: ['stream', 'outcome'] as const,
  registers: [registry],
})

export const writeBehindBacklog = new client.Gauge({
  name: 'outgrow_write_behind_backlog',
  help: 'Deferred writes not yet applied, by stream and partition (reported by the consumer that owns the partition)',
  labelNames: ['stream', 'partition'] as const,
  registers: [registry],
})

export const writeBehindLag = new client.Gauge({
  name: 'outgrow_write_behind_lag_seconds',
  help: 'Age of the oldest deferred write not yet applied, by stream and partition (0 when none waits)',
  labelNames: ['stream', 'partition'] as const,
  registers: [registry],
})

export const outboxBacklog = new client.Gauge({
  name: 'outgrow_outbox_backlog',
  help: 'Outbox entries not yet delivered (reported by the relay that holds the lease)',
  registers: [registry],
})

export const outboxOldestAge = new client.Gauge({
  name: 'outgrow_outbox_oldest_age_seconds',
  help: 'Age of the oldest outbox entry not yet delivered (0 when none waits; reported by the relay that holds the lease)',
  registers: [registry],
})

export const outboxDeliveries = new client.Counter({
  name: 'outgrow_outbox_deliveries_total',
  help: 'Outbox entries handed on by the relay, by kind (job, event) and outcome (delivered, failed: retried)',
  labelNames: ['kind', 'outcome'] as const,
  registers: [registry],
})

export const jobRunSeconds = new client.Histogram({
  name: 'outgrow_job_run_seconds',
  help: 'Run time of job attempts in this process, by job name and outcome (completed, failed)',
  labelNames: ['name', 'outcome'] as const,
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
  registers: [registry],
})

type QueueReading = { waiting: number, active: number, delayed: number, failed: number, oldestWaitingSeconds: number }

/** The queues this process reports, read at each scrape (jobs/queue.ts QueueStats). */
const jobQueues = new Map<string, () => Promise<QueueReading>>()
let lastReading: { at: number, readings: Promise<Array<[string, QueueReading | undefined]>> } | undefined

/** Reports a job queue's depth on /metrics; a queue reported again under its name replaces the first. */
export function reportJobQueue (queue: string, stats: () => Promise<QueueReading>): void {
  jobQueues.set(queue, stats)
}

/** A queue's reading, or undefined when it fails or takes more than a second: a scrape never waits on a lost Redis. */
async function withinScrape (reading: Promise<QueueReading>): Promise<QueueReading | undefined> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<undefined>((resolve) => { timer = setTimeout(() => { resolve(undefined) }, 1000) })
  try {
    return await Promise.race([reading.catch(() => undefined), late])
  } finally {
    clearTimeout(timer)
  }
}

/** One reading per scrape, shared by the two gauges below (a scrape collects them concurrently). */
async function readJobQueues (): Promise<Array<[string, QueueReading | undefined]>> {
  if (lastReading === undefined || Date.now() - lastReading.at > 500) {
    // A queue that cannot answer (its Redis is down) is left out of this scrape; outgrow_dependency_up says why.
    lastReading = { at: Date.now(), readings: Promise.all([...jobQueues].map(async ([queue, stats]) => [queue, await withinScrape(stats())] as [string, QueueReading | undefined])) }
  }
  return await lastReading.readings
}

export const jobQueueJobs = new client.Gauge({
  name: 'outgrow_job_queue_jobs',
  help: 'Jobs in a queue by state (waiting, active, delayed, failed: dead letters), as the queue held them at the scrape',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
  async collect () {
    this.reset()
    for (const [queue, s] of await readJobQueues()) {
      if (s === undefined) continue
      for (const state of ['waiting', 'active', 'delayed', 'failed'] as const) this.set({ queue, state }, s[state])
    }
  },
})

export const jobQueueOldest = new client.Gauge({
  name: 'outgrow_job_queue_oldest_waiting_seconds',
  help: 'Age of the oldest job waiting to run in a queue (0 when none waits)',
  labelNames: ['queue'] as const,
  registers: [registry],
  async collect () {
    this.reset()
    for (const [queue, s] of await readJobQueues()) if (s !== undefined) this.set({ queue }, s.oldestWaitingSeconds)
  },
})
