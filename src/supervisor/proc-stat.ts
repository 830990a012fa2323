import { execFileSync } from 'node:child_process'

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
