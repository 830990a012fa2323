import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

let ticks: number | undefined

/** The kernel's clock ticks per second (the unit of CPU times in /proc/<pid>/stat). */
export function clockTicksPerSecond (): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticks = 100
    }
  }
  return ticks
}

/** User and system CPU time, in clock ticks, from the text of /proc/<pid>/stat. */
export function cpuTicksOfStat (stat: string): { user: number, system: number } {
  // Fields after the command name (which may hold spaces) start after ')'; utime and stime are the 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { user: Number(fields[11]), system: Number(fields[12]) }
}

/** The parent's pid, from the text of /proc/<pid>/stat (the 4th field). */
export function parentPidOfStat (stat: string): number {
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
}

/**
 * The machine's CPU time from the text of /proc/stat (its first, "cpu" line), in clock ticks: busy
 * (everything but idle and iowait) and in all, and of it the time stolen by the hypervisor for
 * other guests. Guest time is already inside user and nice.
 */
export function machineCpuTicksOfStat (text: string): { busy: number, total: number, steal: number } {
  const line = text.split('\n').find((l) => l.startsWith('cpu '))
  if (line === undefined) throw new Error('/proc/stat has no cpu line')
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number)
  const busy = user + nice + system + irq + softirq + steal
  return { busy, total: busy + idle + iowait, steal }
}

/** The machine's CPU time now (machineCpuTicksOfStat of /proc/stat). */
export function readMachineCpuTicks (): { busy: number, total: number, steal: number } {
  return machineCpuTicksOfStat(readFileSync('/proc/stat', 'utf8'))
}
