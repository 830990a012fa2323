import type { StackProcessInfo } from '../control/stack.js'
import type { ServerCpuReading } from '../supervisor/server-cpu.js'
import { serverCpuBetween, type CpuWindowSource } from './cpu-window.js'
import { ratesBetween, readCounters, type ServerCounters } from './server-stats.js'

/** The server counters over one interval of a measured run, for the report's charts. */
export interface CounterSample {
  /** Seconds from the start of the run to the end of the interval. */
  readonly second: number
  readonly primaryQueriesPerSecond: number
  readonly replicaQueriesPerSecond: number
  readonly cacheHitRatio: number | null
  /** Each emulated server's CPU use over the interval as a share of its quota (1 = all of it). */
  readonly cpu: Readonly<Record<string, number>>
}

interface Reading {
  readonly at: number
  readonly counters: ServerCounters
  readonly cpu: Map<string, ServerCpuReading>
}

function readCpu (source: CpuWindowSource | undefined): Map<string, ServerCpuReading> {
  const readings = new Map<string, ServerCpuReading>()
  if (source === undefined) return readings
  for (const server of new Set(source.info().processes.map((p) => p.server))) {
    try {
      const reading = source.serverCpu(server)
      if (reading !== undefined) readings.set(server, reading)
    } catch {
      // A server whose accounting is gone meanwhile is left out of this interval.
    }
  }
  return readings
}

/**
 * Reads the stack's counters (and, given a source, each server's CPU) every `intervalMs` while a
 * run goes on; `stop` returns one sample per interval. A scrape that fails yields zeros for its
 * processes, as the end-of-run counters do.
 */
export function startCounterTimeline (processes: readonly StackProcessInfo[], cpu: CpuWindowSource | undefined, intervalMs = 2000): { stop(): Promise<CounterSample[]> } {
  const started = Date.now()
  const samples: CounterSample[] = []
  let previous: Promise<Reading> = readCounters(processes).then((counters) => ({ at: Date.now(), counters, cpu: readCpu(cpu) }))
  let reading: Promise<void> = Promise.resolve()
  const sample = (): void => {
    reading = reading.then(async () => {
      const before = await previous
      const counters = await readCounters(processes)
      const now: Reading = { at: Date.now(), counters, cpu: readCpu(cpu) }
      previous = Promise.resolve(now)
      const seconds = (now.at - before.at) / 1000
      if (seconds <= 0) return
      const rates = ratesBetween(before.counters, now.counters, seconds)
      const utilization: Record<string, number> = {}
      for (const [server, end] of now.cpu) {
        const start = before.cpu.get(server)
        if (start !== undefined) utilization[server] = Math.round(serverCpuBetween(server, [], start, end, seconds).utilization * 1000) / 1000
      }
      samples.push({
        second: Math.round((now.at - started) / 100) / 10,
        primaryQueriesPerSecond: rates.primaryQueriesPerSecond,
        replicaQueriesPerSecond: rates.replicaQueriesPerSecond,
        cacheHitRatio: rates.cacheHitRatio,
        cpu: utilization,
      })
    }).catch(() => {})
  }
  const timer = setInterval(sample, intervalMs)
  timer.unref()
  return {
    stop: async () => {
      clearInterval(timer)
      await reading
      return samples
    },
  }
}
