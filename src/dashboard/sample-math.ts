import { quantileBetween, type HistogramBucket } from '../control/autoscaler/metrics-source.js'
import type { StackProcessInfo } from '../control/stack.js'
import type { ServerCpuReading } from '../supervisor/server-cpu.js'
import type { ProcessStatus, ServerView } from './sample.js'

/**
 * The arithmetic between two readings: rates of counters, quantiles of histogram deltas, CPU over
 * an interval, and how a process's state reads on the page. Nothing here keeps state or reads a clock.
 */

/** Per second between two readings of a counter; a counter that went down (its process restarted) counts from zero. */
export function counterRate (previous: number | undefined, current: number, seconds: number): number {
  if (previous === undefined || seconds <= 0) return 0
  const delta = current < previous ? current : current - previous
  return delta / seconds
}

/** The q-quantile in ms of what a histogram observed between two readings; null when it observed nothing. */
export function quantileMs (previous: readonly HistogramBucket[] | undefined, current: readonly HistogramBucket[], q: number): number | null {
  if (previous === undefined) return null
  const seconds = quantileBetween(previous, current, q)
  return seconds === undefined ? null : seconds * 1000
}

/** Bucket counts summed bound by bound, to take one quantile over several processes. */
export function sumBuckets (lists: ReadonlyArray<readonly HistogramBucket[]>): HistogramBucket[] {
  const byBound = new Map<number, number>()
  for (const list of lists) for (const b of list) byBound.set(b.le, (byBound.get(b.le) ?? 0) + b.count)
  return [...byBound].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le)
}

/**
 * The page's status of a process: the executor's state, then what the gateway sees. A crashed
 * unit is dead until the reconciler starts it again; starting again after a crash is restarting.
 */
export function processStatus (p: Pick<StackProcessInfo, 'role' | 'state' | 'restarts'>, gatewayHealthy: boolean | undefined): ProcessStatus {
  switch (p.state) {
    case 'starting': return p.restarts > 0 ? 'restarting' : 'starting'
    case 'crashed':
    case 'failed': return 'dead'
    // The gateway drains an instance before it stops.
    case 'stopping': return p.role === 'app' ? 'draining' : 'stopping'
    case 'ready': return gatewayHealthy === false ? 'ejected' : 'healthy'
  }
}

/** A database or Redis node's role as the page shows it. */
export function dataRoleOf (p: Pick<StackProcessInfo, 'role' | 'name' | 'detail' | 'ha'>, inRecovery: boolean | undefined): 'primary' | 'replica' | 'leader' | null {
  if (p.role === 'postgres') {
    if (p.ha !== undefined) return p.ha.role === 'leader' ? 'leader' : inRecovery === false ? 'primary' : 'replica'
    if (inRecovery !== undefined) return inRecovery ? 'replica' : 'primary'
    return /-replica-\d+$/.test(p.name) ? 'replica' : 'primary'
  }
  if (p.role === 'redis') return p.detail === 'replica' ? 'replica' : 'primary'
  return null
}

/** A PostgreSQL LSN (`16/B374D848`) as a byte position. */
export function lsnBytes (lsn: string): number {
  const [high, low] = lsn.split('/')
  const value = Number.parseInt(high ?? '', 16) * 2 ** 32 + Number.parseInt(low ?? '', 16)
  if (!Number.isFinite(value)) throw new Error(`not an LSN: ${lsn}`)
  return value
}

/** A server's CPU between two readings of its accounting taken `seconds` apart. */
export function serverView (name: string, previous: ServerCpuReading | undefined, current: ServerCpuReading, seconds: number): ServerView {
  const used = previous === undefined || seconds <= 0 ? 0 : Math.max(0, current.usageNs - previous.usageNs) / 1e9 / seconds
  const periods = (current.throttling?.periods ?? 0) - (previous?.throttling?.periods ?? 0)
  const throttled = current.throttling === undefined || previous?.throttling === undefined
    ? null
    : periods <= 0 ? 0 : Math.max(0, current.throttling.throttledPeriods - previous.throttling.throttledPeriods) / periods
  return { name, cpuCores: used, quotaCores: current.quotaCores, throttled }
}
