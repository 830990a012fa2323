import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { clockTicksPerSecond, cpuTicksOfStat } from './proc-stat.js'
import { processTree, readParentTable } from './process-tree.js'

/**
 * CPU accounting of one emulated server, as a counter: read it at the start and the end of a
 * window and take differences. `source` says where it came from: the kernel's cgroup accounting,
 * or the sum of /proc/<pid>/stat over the server's process trees when no cgroup holds them.
 */
export interface ServerCpuReading {
  /** CPU time used by every process of the server so far, in ns. */
  readonly usageNs: number
  /** Cores the server may use: its cgroup quota, one core when pinned by taskset, the machine's cores when not isolated. */
  readonly quotaCores: number
  /** cgroup cpu.stat: CFS periods in which the group ran, those it was throttled in, and how long; undefined without a cgroup. */
  readonly throttling: CpuThrottling | undefined
  readonly source: 'cgroup' | 'proc'
}

export interface CpuThrottling {
  readonly periods: number
  readonly throttledPeriods: number
  readonly throttledNs: number
}

/** cgroup v1 cpu.stat: nr_periods, nr_throttled, throttled_time (ns). */
export function parseCpuStat (text: string): CpuThrottling {
  const fields = new Map<string, number>()
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/)
    if (key !== undefined && key !== '' && value !== undefined) fields.set(key, Number(value))
  }
  const field = (name: string): number => {
    const value = fields.get(name)
    if (value === undefined || !Number.isFinite(value)) throw new Error(`cpu.stat has no ${name}: ${JSON.stringify(text)}`)
    return value
  }
  return { periods: field('nr_periods'), throttledPeriods: field('nr_throttled'), throttledNs: field('throttled_time') }
}

/** Cores a CFS quota grants: quota / period; undefined for no limit (-1). */
export function quotaCoresOf (quotaUs: number, periodUs: number): number | undefined {
  if (!(quotaUs > 0) || !(periodUs > 0)) return undefined
  return quotaUs / periodUs
}

function readNumber (file: string): number {
  const text = readFileSync(file, 'utf8').trim()
  const value = Number(text)
  if (text === '' || !Number.isFinite(value)) throw new Error(`${file} does not hold a number: ${JSON.stringify(text)}`)
  return value
}

/**
 * One server's cgroup: quota and throttling from the cpu group, usage from cpuacct.usage (in the
 * cpu group itself when the controllers share a mount, else in `cpuacctDir`); without cpuacct,
 * the /proc times of the group's processes.
 */
export function readCgroupCpu (cpuDir: string, cpuacctDir: string | undefined, machineCores: number): ServerCpuReading | undefined {
  if (!existsSync(cpuDir)) return undefined
  const quotaCores = quotaCoresOf(readNumber(join(cpuDir, 'cpu.cfs_quota_us')), readNumber(join(cpuDir, 'cpu.cfs_period_us'))) ?? machineCores
  const throttling = parseCpuStat(readFileSync(join(cpuDir, 'cpu.stat'), 'utf8'))
  const usageFile = [join(cpuDir, 'cpuacct.usage'), ...(cpuacctDir === undefined ? [] : [join(cpuacctDir, 'cpuacct.usage')])].find((f) => existsSync(f))
  const usageNs = usageFile === undefined
    ? processTreesCpuNs(readPids(join(cpuDir, 'cgroup.procs')), false)
    : readNumber(usageFile)
  return { usageNs, quotaCores, throttling, source: 'cgroup' }
}

function readPids (file: string): number[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map(Number)
  } catch {
    return []
  }
}

/** utime + stime, and the same for children it has reaped (cutime, cstime), in clock ticks. */
export function cpuTicksWithReapedChildren (stat: string): number {
  const { user, system } = cpuTicksOfStat(stat)
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return user + system + Number(fields[13]) + Number(fields[14])
}

/**
 * CPU time of processes and, with `withDescendants`, everything below them, in ns. Reaped
 * children count through their parent's cutime/cstime, so PostgreSQL backends that ended inside
 * a window still count. Processes gone since count nothing.
 */
let recentParents: { readonly at: number, readonly table: Map<number, number> } | undefined

/**
 * One scan of /proc (milliseconds on a busy machine) serves every server read within 250 ms: the
 * dashboard reads each server's trees once a second, one after the other. A process born since
 * counts from the next reading on.
 */
function parentTable (): Map<number, number> {
  const now = Date.now()
  if (recentParents === undefined || now - recentParents.at > 250) recentParents = { at: now, table: readParentTable() }
  return recentParents.table
}

export function processTreesCpuNs (roots: readonly number[], withDescendants = true): number {
  const pids = new Set<number>()
  const parents = withDescendants ? parentTable() : new Map<number, number>()
  for (const root of roots) for (const pid of withDescendants ? processTree(root, parents) : [root]) pids.add(pid)
  let ticks = 0
  for (const pid of pids) {
    try {
      const value = cpuTicksWithReapedChildren(readFileSync(`/proc/${pid}/stat`, 'utf8'))
      if (Number.isFinite(value)) ticks += value
    } catch { /* gone meanwhile */ }
  }
  return ticks / clockTicksPerSecond() * 1e9
}
