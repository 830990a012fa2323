import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

let ticksPerSecond: number | undefined
function clockTicks (): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticksPerSecond = 100
    }
  }
  return ticksPerSecond
}

function descendants (pid: number): number[] {
  const all = [pid]
  for (let i = 0; i < all.length; i++) {
    try {
      const children = readFileSync(`/proc/${all[i] as number}/task/${all[i] as number}/children`, 'utf8').trim()
      if (children !== '') all.push(...children.split(/\s+/).map(Number))
    } catch {}
  }
  return all
}

export interface CpuTime { readonly userMs: number, readonly systemMs: number }

/** CPU time used so far by a process and all its descendants (Linux /proc); zeros elsewhere. */
export function processTreeCpu (pid: number): CpuTime {
  let user = 0
  let system = 0
  for (const p of descendants(pid)) {
    try {
      // Fields after the command name, which is in parentheses and may contain spaces.
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      user += Number(fields[11])
      system += Number(fields[12])
    } catch {}
  }
  const tick = 1000 / clockTicks()
  return { userMs: user * tick, systemMs: system * tick }
}
