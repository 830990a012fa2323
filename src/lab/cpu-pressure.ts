import { readFileSync } from 'node:fs'

/**
 * The machine's CPU pressure (Linux PSI, /proc/pressure/cpu): how long some runnable process waited
 * for a core. Per-server quotas cannot show it. On a small machine running many emulated servers,
 * the processes one request wakes in turn (gateway, app, Redis, primary, standby) queue for the
 * cores even when each server is well under its quota, and that wait is latency.
 */
export interface CpuPressureMark {
  /** Microseconds some task waited for a CPU since boot ("some … total="). */
  readonly waitedUs: number
  readonly atMs: number
}

/** The "some" line's total of /proc/pressure/cpu, in microseconds; undefined when absent. */
export function parseCpuPressureTotalUs (text: string): number | undefined {
  const match = /^some\b.*\btotal=(\d+)/m.exec(text)
  return match === null ? undefined : Number(match[1])
}

/** Now's reading; undefined where the kernel has no PSI (before 4.20, or booted with psi=0). */
export function markCpuPressure (now: number = Date.now()): CpuPressureMark | undefined {
  try {
    const waitedUs = parseCpuPressureTotalUs(readFileSync('/proc/pressure/cpu', 'utf8'))
    return waitedUs === undefined ? undefined : { waitedUs, atMs: now }
  } catch {
    return undefined
  }
}

/** Share of the time between two readings in which some process waited for a core (0 to 1). */
export function cpuWaitShare (start: CpuPressureMark | undefined, end: CpuPressureMark | undefined): number | undefined {
  if (start === undefined || end === undefined || end.atMs <= start.atMs) return undefined
  const share = (end.waitedUs - start.waitedUs) / ((end.atMs - start.atMs) * 1000)
  return Math.round(Math.min(1, Math.max(0, share)) * 1000) / 1000
}
