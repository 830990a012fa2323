import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { OutgrowError } from '../../errors/index.js'
import { clockTicksPerSecond, cpuTicksOfStat } from '../../supervisor/proc-stat.js'
import { parsePrometheusText, selectingFamilies, sumSamples, type Sample } from '../../lab/prometheus-text.js'

/**
 * Where the autoscaler's numbers come from: an instance's /metrics text, and the cgroup v1 CPU
 * accounting of an emulated server. Rates and quantiles need two readings; the delta helpers
 * here take both, so nothing in this file keeps state or reads the clock.
 */

const ELU = 'outgrow_event_loop_utilization'
const IN_FLIGHT = 'outgrow_http_in_flight'
const DURATION = 'outgrow_http_request_duration_seconds'
/** The families parseInstanceMetrics reads: the autoscaler asks an instance for these only. */
export const INSTANCE_FAMILIES: readonly string[] = [ELU, IN_FLIGHT, DURATION]

export interface HistogramBucket {
  /** upper bound in seconds; Infinity for +Inf */
  readonly le: number
  /** cumulative count, summed over every label set */
  readonly count: number
}

export interface InstanceSnapshot {
  readonly elu: number
  readonly inFlight: number
  readonly requestsTotal: number
  readonly buckets: readonly HistogramBucket[]
}

export interface InstanceMetrics extends InstanceSnapshot {
  /** p99 of the requests served between the previous snapshot and this one. */
  readonly p99Seconds?: number
}

function bucketsOf (samples: readonly Sample[]): HistogramBucket[] {
  const byBound = new Map<number, number>()
  for (const s of samples) {
    if (s.name !== `${DURATION}_bucket` || s.labels.le === undefined) continue
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le)
    byBound.set(le, (byBound.get(le) ?? 0) + s.value)
  }
  return [...byBound].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le)
}

export function parseInstanceMetrics (text: string): InstanceSnapshot {
  const samples = parsePrometheusText(text)
  return {
    elu: sumSamples(samples, ELU),
    inFlight: sumSamples(samples, IN_FLIGHT),
    requestsTotal: sumSamples(samples, `${DURATION}_count`),
    buckets: bucketsOf(samples),
  }
}

/**
 * The q-quantile of the observations between two readings of a cumulative histogram, interpolated
 * linearly inside its bucket as Prometheus' histogram_quantile does; a quantile that falls in the
 * +Inf bucket is reported as the highest finite bound. Undefined when nothing was observed.
 */
export function quantileBetween (previous: readonly HistogramBucket[], current: readonly HistogramBucket[], q: number): number | undefined {
  const before = new Map(previous.map((b) => [b.le, b.count]))
  // A counter that went down means the process restarted: its readings since start are the delta.
  const restarted = current.some((b) => b.count < (before.get(b.le) ?? 0))
  const deltas = current.map((b) => ({ le: b.le, count: restarted ? b.count : b.count - (before.get(b.le) ?? 0) }))
  const total = deltas[deltas.length - 1]?.count ?? 0
  if (total <= 0) return undefined
  const rank = q * total
  let lowerBound = 0
  let lowerCount = 0
  for (const b of deltas) {
    if (b.count >= rank) {
      if (b.le === Infinity) return lowerBound
      const inBucket = b.count - lowerCount
      return inBucket === 0 ? b.le : lowerBound + (b.le - lowerBound) * (rank - lowerCount) / inBucket
    }
    lowerBound = b.le
    lowerCount = b.count
  }
  return lowerBound
}

/** Reads an app instance's GET /metrics (the three families it needs); with the previous reading, adds the p99 in between. */
export async function scrapeInstanceMetrics (baseUrl: string, previous?: InstanceSnapshot, signal?: AbortSignal): Promise<InstanceMetrics> {
  let response: Response
  try {
    response = await fetch(selectingFamilies(new URL('/metrics', baseUrl).toString(), INSTANCE_FAMILIES), { signal })
  } catch (err) {
    throw new OutgrowError('OUTGROW_METRICS_UNAVAILABLE', `GET /metrics from ${baseUrl} failed: ${(err as Error).message}`, { url: baseUrl }, { cause: err })
  }
  if (!response.ok) throw new OutgrowError('OUTGROW_METRICS_UNAVAILABLE', `GET /metrics from ${baseUrl} answered ${response.status}`, { url: baseUrl })
  const snapshot = parseInstanceMetrics(await response.text())
  const p99Seconds = previous === undefined ? undefined : quantileBetween(previous.buckets, snapshot.buckets, 0.99)
  return p99Seconds === undefined ? snapshot : { ...snapshot, p99Seconds }
}

export interface CpuUsageReading {
  /** ms, from the caller's clock */
  readonly at: number
  /** CPU time used by every process of the cgroup since it was created, in ns */
  readonly usageNs: number
}

/** cgroup v1 cpuacct.usage of an emulated server's cgroup directory. */
export async function cgroupCpuUsage (cgroupDir: string, now: number): Promise<CpuUsageReading> {
  const file = join(cgroupDir, 'cpuacct.usage')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new OutgrowError('OUTGROW_METRICS_UNAVAILABLE', `cannot read ${file}: ${(err as Error).message}`, { file }, { cause: err })
  }
  return { at: now, usageNs: parseCpuacctUsage(text) }
}

export function parseCpuacctUsage (text: string): number {
  const value = Number(text.trim())
  if (!Number.isFinite(value) || value < 0 || text.trim() === '') throw new OutgrowError('OUTGROW_METRICS_UNAVAILABLE', `cpuacct.usage is not a count of nanoseconds: ${JSON.stringify(text)}`)
  return value
}

/**
 * Utilization of a server's CPU quota between two readings: CPU seconds used per second elapsed,
 * divided by the cores the quota grants. 1 means the quota is used up (the kernel throttles past it).
 */
export function cpuUtilization (previous: CpuUsageReading, current: CpuUsageReading, quotaCores: number): number | undefined {
  const elapsedSeconds = (current.at - previous.at) / 1000
  const usedSeconds = (current.usageNs - previous.usageNs) / 1e9
  if (elapsedSeconds <= 0 || usedSeconds < 0 || quotaCores <= 0) return undefined
  return usedSeconds / elapsedSeconds / quotaCores
}

/**
 * CPU time of one process (user + system, from /proc/<pid>/stat), as a reading like
 * cgroupCpuUsage's: works whether or not the cpuacct controller is mounted beside cpu.
 */
export async function processCpuUsage (pid: number, now: number): Promise<CpuUsageReading> {
  let text: string
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8')
  } catch (err) {
    throw new OutgrowError('OUTGROW_METRICS_UNAVAILABLE', `cannot read the CPU time of process ${pid}: ${(err as Error).message}`, { pid }, { cause: err })
  }
  const { user, system } = cpuTicksOfStat(text)
  const ticks = user + system
  if (!Number.isFinite(ticks)) throw new OutgrowError('OUTGROW_METRICS_UNAVAILABLE', `unreadable /proc/${pid}/stat`)
  return { at: now, usageNs: ticks / clockTicksPerSecond() * 1e9 }
}
