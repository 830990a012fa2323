import { availableParallelism } from 'node:os'
import type { StackProcessInfo } from '../control/stack.js'
import { clockTicksPerSecond, readMachineCpuTicks } from '../supervisor/proc-stat.js'
import { processTreesCpuNs, type ServerCpuReading } from '../supervisor/server-cpu.js'

/**
 * CPU of every emulated server of a running stack over a window (the knee of a capacity search):
 * how much of its quota each server used, how often the kernel throttled it, and who lives there;
 * and how busy the whole machine was, the load generator included.
 */

/** What a window reads; a Stack is one. */
export interface CpuWindowSource {
  info(): { readonly processes: readonly StackProcessInfo[] }
  serverCpu(server: string): ServerCpuReading | undefined
}

/** A process's part in the stack; a PostgreSQL process as primary or replica. */
export type ResidentRole = Exclude<StackProcessInfo['role'], 'postgres'> | 'postgres primary' | 'postgres replica' | 'postgres'

export interface Resident {
  readonly name: string
  readonly role: ResidentRole
  /**
   * CPU seconds per second of the window this process and its children used (from /proc), where
   * several share a server: the cgroup's total alone cannot say whether the app or PostgreSQL
   * took a shared server's quota.
   */
  readonly usedCores?: number | undefined
}

export interface ServerCpu {
  readonly server: string
  readonly residents: readonly Resident[]
  /** CPU seconds used per second of the window. */
  readonly usedCores: number
  readonly quotaCores: number
  /** usedCores / quotaCores: 1 is the whole quota. */
  readonly utilization: number
  /** Share of the CFS periods it ran in that the kernel throttled it in; undefined without a cgroup. */
  readonly throttledShare: number | undefined
  /** 'cgroup': the kernel's accounting against the quota; 'proc': /proc times against a whole core or the machine. */
  readonly source: ServerCpuReading['source']
}

export interface MachineCpu {
  readonly cores: number
  /** Cores busy on average over the window, everything on the machine counted. */
  readonly busyCores: number
  /** Of those, the stack's servers. */
  readonly stackCores: number
  /** The rest: the load generator, the supervisor, anything else running here. */
  readonly otherCores: number
}

export interface CpuWindow {
  readonly seconds: number
  /** Busiest first (by utilization). */
  readonly servers: readonly ServerCpu[]
  readonly machine: MachineCpu
}

/** Primary or replica from the HA store's view of a node, or from the unit's name (`<cluster>-primary`, `<cluster>-replica-<i>`). */
export function residentRole (p: Pick<StackProcessInfo, 'name' | 'role' | 'ha'>): ResidentRole {
  if (p.role !== 'postgres') return p.role
  if (p.ha !== undefined) return p.ha.role === 'leader' ? 'postgres primary' : p.ha.role === 'replica' || p.ha.role === 'sync standby' ? 'postgres replica' : 'postgres'
  if (/-primary$/.test(p.name)) return 'postgres primary'
  if (/-replica-\d+$/.test(p.name)) return 'postgres replica'
  return 'postgres'
}

export function residentsByServer (processes: readonly StackProcessInfo[], usedCoresOf: (name: string) => number | undefined = () => undefined): Map<string, Resident[]> {
  const byServer = new Map<string, Resident[]>()
  for (const p of processes) {
    const list = byServer.get(p.server) ?? []
    const usedCores = usedCoresOf(p.name)
    list.push(usedCores === undefined ? { name: p.name, role: residentRole(p) } : { name: p.name, role: residentRole(p), usedCores })
    byServer.set(p.server, list)
  }
  return byServer
}

/** The process (and an HA node's other processes) behind a unit. */
function pidsOf (p: Pick<StackProcessInfo, 'pid' | 'ha'>): number[] {
  const pids = new Set<number>()
  if (p.pid !== undefined) pids.add(p.pid)
  for (const pid of Object.values(p.ha?.pids ?? {})) if (pid !== undefined) pids.add(pid)
  return [...pids]
}

/** CPU so far (ns, from /proc) of each process that shares its server with another, by name. */
export function sharedResidentsCpuNs (processes: readonly StackProcessInfo[], readProcessCpuNs: (pids: readonly number[]) => number): Map<string, number> {
  const perServer = new Map<string, number>()
  for (const p of processes) perServer.set(p.server, (perServer.get(p.server) ?? 0) + 1)
  const used = new Map<string, number>()
  for (const p of processes) {
    const pids = pidsOf(p)
    if ((perServer.get(p.server) ?? 0) < 2 || pids.length === 0) continue
    try {
      used.set(p.name, readProcessCpuNs(pids))
    } catch {
      // Gone meanwhile: that process is left out of the split, not the window.
    }
  }
  return used
}

/** One server's share of its quota between two readings `seconds` apart. */
export function serverCpuBetween (server: string, residents: readonly Resident[], before: ServerCpuReading, after: ServerCpuReading, seconds: number): ServerCpu {
  const usedCores = seconds > 0 ? Math.max(0, after.usageNs - before.usageNs) / 1e9 / seconds : 0
  const periods = after.throttling === undefined || before.throttling === undefined ? undefined : after.throttling.periods - before.throttling.periods
  const throttled = after.throttling === undefined || before.throttling === undefined ? 0 : after.throttling.throttledPeriods - before.throttling.throttledPeriods
  return {
    server,
    residents,
    usedCores,
    quotaCores: after.quotaCores,
    utilization: after.quotaCores > 0 ? usedCores / after.quotaCores : 0,
    throttledShare: periods === undefined ? undefined : periods > 0 ? Math.max(0, throttled) / periods : 0,
    source: after.source,
  }
}

/** A server whose accounting cannot be read (its group gone meanwhile) is left out, not fatal to the window. */
function readServer (source: CpuWindowSource, server: string): ServerCpuReading | undefined {
  try {
    return source.serverCpu(server)
  } catch {
    return undefined
  }
}


/**
 * Reads every server's CPU accounting now; `finish` reads it again and gives each server's use
 * of its quota over the window. Servers that appear meanwhile have no start and are left out.
 */
export function startCpuWindow (source: CpuWindowSource, now: () => number = Date.now, readProcessCpuNs: (pids: readonly number[]) => number = processTreesCpuNs): { finish(): Promise<CpuWindow> } {
  const startedAt = now()
  const machineBefore = readMachineCpuTicks()
  const before = new Map<string, ServerCpuReading>()
  for (const server of new Set(source.info().processes.map((p) => p.server))) {
    const reading = readServer(source, server)
    if (reading !== undefined) before.set(server, reading)
  }
  const sharedBefore = sharedResidentsCpuNs(source.info().processes, readProcessCpuNs)
  return {
    finish: async () => {
      const seconds = (now() - startedAt) / 1000
      const machineAfter = readMachineCpuTicks()
      const processes = source.info().processes
      const sharedAfter = sharedResidentsCpuNs(processes, readProcessCpuNs)
      const residents = residentsByServer(processes, (name) => {
        const start = sharedBefore.get(name)
        const end = sharedAfter.get(name)
        return start === undefined || end === undefined || seconds <= 0 ? undefined : Math.max(0, end - start) / 1e9 / seconds
      })
      const servers: ServerCpu[] = []
      for (const [server, start] of before) {
        const end = readServer(source, server)
        if (end !== undefined) servers.push(serverCpuBetween(server, residents.get(server) ?? [], start, end, seconds))
      }
      servers.sort((a, b) => b.utilization - a.utilization)
      const cores = availableParallelism()
      const busyCores = seconds > 0 ? (machineAfter.busy - machineBefore.busy) / clockTicksPerSecond() / seconds : 0
      const stackCores = servers.reduce((sum, s) => sum + s.usedCores, 0)
      return { seconds, servers, machine: { cores, busyCores, stackCores, otherCores: Math.max(0, busyCores - stackCores) } }
    },
  }
}
