import { readFileSync } from 'node:fs'
import { clockTicksPerSecond, cpuTicksOfStat } from '../src/supervisor/proc-stat.js'

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
      const cpu = cpuTicksOfStat(readFileSync(`/proc/${p}/stat`, 'utf8'))
      user += cpu.user
      system += cpu.system
    } catch {}
  }
  const tick = 1000 / clockTicksPerSecond()
  return { userMs: user * tick, systemMs: system * tick }
}
