import type { AutoscaleRecord } from '../control/autoscaler/controller.js'
import type { StackEvent } from '../control/event-log.js'

/**
 * What the live dashboard receives over Server-Sent Events (`GET /dashboard/stream`), the contract
 * between the collector (supervisor side) and the page. Rates are per second over the last sample
 * interval; latencies in ms; null where the figure is unknown (no traffic, source unreachable).
 *
 * Stream: one `hello` event (DashboardHello), then a `sample` event (DashboardSample) every
 * interval, a `stack-event` (StackEvent) for every event-log line and an `autoscale`
 * (AutoscaleRecord) for every autoscaler decision, as they happen.
 */

/** How the page shows a process: from the executor's state, the gateway's view and HA roles. */
export type ProcessStatus = 'starting' | 'healthy' | 'draining' | 'ejected' | 'dead' | 'restarting' | 'stopping'

export interface ProcessView {
  readonly name: string
  /** app, worker, gateway, postgres, pooler, redis, sentinel, consensus */
  readonly role: string
  /** The emulated server it runs on. */
  readonly server: string
  readonly status: ProcessStatus
  readonly restarts: number
  readonly pid: number | null
  /** Database or Redis node: its current role (primary/replica, master/replica, leader). */
  readonly dataRole: 'primary' | 'replica' | 'leader' | null
  readonly detail: string | null
}

export interface ServerView {
  readonly name: string
  /** Cores used over the interval. */
  readonly cpuCores: number
  /** Cores the server may use (its quota). */
  readonly quotaCores: number
  /** Fraction of CFS periods throttled over the interval; null without a cgroup. */
  readonly throttled: number | null
}

export interface InstanceView {
  readonly name: string
  readonly requestsPerSecond: number
  readonly p50Ms: number | null
  readonly p99Ms: number | null
  /** 5xx responses per second. */
  readonly errorsPerSecond: number
  /** Event-loop utilization, 0..1. */
  readonly elu: number | null
  readonly inFlight: number
  /** CPU of its emulated server as a fraction of the server's quota, 0..1. */
  readonly serverCpu: number | null
}

/** A live link in the topology picture with its rate. */
export interface EdgeView {
  /** Process names (gateway → app instance, app instance → redis / primary / replica, worker → …). */
  readonly from: string
  readonly to: string
  /** requests (gateway → instance), queries (→ postgres), cache operations (→ redis), per second. */
  readonly perSecond: number
}

export interface DatabaseNodeView {
  readonly name: string
  readonly role: 'primary' | 'replica'
  /** Statements (transactions where statement stats are off) per second. */
  readonly queriesPerSecond: number
  readonly connections: number
  /** Replicas only: how far behind the primary. */
  readonly lagBytes: number | null
  readonly lagSeconds: number | null
}

export interface CacheView {
  /** App-side look-ups: hits / (hits + misses) over the interval; null without look-ups. */
  readonly hitRatio: number | null
  readonly redisOpsPerSecond: number | null
  readonly usedMemoryBytes: number | null
}

export interface QueueView {
  readonly name: string
  readonly waiting: number
  readonly active: number
  readonly delayed: number
  readonly failed: number
  readonly oldestWaitingSeconds: number | null
}

export interface JobsView {
  readonly queues: readonly QueueView[]
  /** Completed jobs per second and their mean run time over the interval. */
  readonly completedPerSecond: number
  readonly meanRunMs: number | null
}

export interface DashboardSample {
  /** ms since the epoch. */
  readonly t: number
  readonly processes: readonly ProcessView[]
  readonly servers: readonly ServerView[]
  readonly instances: readonly InstanceView[]
  readonly edges: readonly EdgeView[]
  readonly database: readonly DatabaseNodeView[]
  readonly cache: CacheView | null
  readonly jobs: JobsView | null
  /** Whole stack, as the entry point (gateway, else the instances) served it. */
  readonly total: { readonly requestsPerSecond: number, readonly errorsPerSecond: number, readonly p99Ms: number | null }
}

export interface DashboardHello {
  readonly level: number | null
  /** The stack's public URL (gateway or first instance). */
  readonly url: string
  readonly intervalMs: number
  /** Samples kept so far, oldest first, so a page opened late draws its history at once. */
  readonly history: readonly DashboardSample[]
  readonly events: readonly StackEvent[]
  readonly autoscaler: readonly AutoscaleRecord[]
  /** Services that can be scaled from the page, with their current desired count. */
  readonly services: ReadonlyArray<{ readonly name: string, readonly replicas: number, readonly min: number | null, readonly max: number | null }>
  /** Chaos scenarios the page may start (`POST /v1/chaos`). */
  readonly scenarios: readonly string[]
  /** The processes as they are at hello, before the first sample (executor state only). */
  readonly processes?: readonly ProcessView[]
}
