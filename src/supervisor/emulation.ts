import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { processTreesCpuNs, readCgroupCpu, type ServerCpuReading } from './server-cpu.js'

/**
 * Server emulation: each "server" of a stack (app instance, database, Redis, gateway) gets its own
 * CPU budget so that levels differ on one machine the way they would on separate hosts.
 */
export interface ServerEmulation {
  readonly mode: 'cgroup' | 'taskset' | 'none'
  /** One line for every report: how servers were emulated. */
  describe(): string
  /** Puts pid on the emulated server, created with `cpus` cores the first time it is named. */
  place(server: string, pid: number, cpus?: number): void
  /**
   * The server's CPU accounting so far (a counter); undefined for a server nothing was placed on.
   * With cgroups, the kernel's (cpuacct.usage, cpu.stat); otherwise the /proc times of the process
   * trees placed on it, against one core (taskset) or the whole machine (none).
   */
  serverCpu(server: string): ServerCpuReading | undefined
  /**
   * Removes what the emulation made once the stack's processes are stopped. A process still on a
   * server after `graceMs` (one its stopped parent left behind) is killed: nothing of a server
   * outlives its stack. Resolves to the pids it had to kill.
   */
  cleanup(options?: { readonly graceMs?: number }): Promise<number[]>
}

const CGROUP_CPU_ROOT = '/sys/fs/cgroup/cpu'
const CGROUP_CPUACCT_ROOT = '/sys/fs/cgroup/cpuacct'

/**
 * Where cpuacct is mounted apart from cpu (as on hosts that do not co-mount them): each server
 * gets a group there too, or its CPU time could not be read per server. Undefined when cpu's own
 * groups carry cpuacct.usage, or when there is no usable cpuacct mount.
 */
function separateCpuacctRoot (): string | undefined {
  if (existsSync(join(CGROUP_CPU_ROOT, 'cpuacct.usage'))) return undefined
  return existsSync(join(CGROUP_CPUACCT_ROOT, 'cpuacct.usage')) ? CGROUP_CPUACCT_ROOT : undefined
}

/** Root pids placed per server, for reading CPU from /proc where no cgroup holds them. */
class PlacedPids {
  readonly #byServer = new Map<string, Set<number>>()
  add (server: string, pid: number): void {
    const set = this.#byServer.get(server) ?? new Set<number>()
    set.add(pid)
    this.#byServer.set(server, set)
  }

  /** The server's placed processes still alive; undefined for a server never placed. */
  alive (server: string): number[] | undefined {
    const set = this.#byServer.get(server)
    if (set === undefined) return undefined
    for (const pid of set) if (!existsSync(`/proc/${pid}`)) set.delete(pid)
    return [...set]
  }
}

/**
 * The CFS period of an emulated server (µs). The kernel's default, 100 ms, lets a quarter-core
 * server spend its 25 ms at once and then stops it for 75 ms: a request arriving then waits up to
 * 75 ms although the server is far from busy, which is not how a small real server behaves (it is
 * slower, evenly). A 10 ms period spreads the same share finely; the kernel's smallest quota is 1 ms,
 * so very small shares get a longer period.
 */
export function cfsPeriodFor (cpus: number): number {
  return Math.max(10_000, Math.ceil(1000 / cpus))
}

/** cgroup v1 CPU controller: cpu.cfs_quota_us caps each server at `cpus` cores. */
class CgroupEmulation implements ServerEmulation {
  readonly mode = 'cgroup'
  readonly #base: string
  /** The servers' groups in a separately mounted cpuacct hierarchy. */
  readonly #acctBase: string | undefined
  readonly #cpus: number
  readonly #created = new Set<string>()

  constructor (stackId: string, cpus: number) {
    this.#base = join(CGROUP_CPU_ROOT, 'outgrow', stackId)
    const acctRoot = separateCpuacctRoot()
    this.#acctBase = acctRoot === undefined ? undefined : join(acctRoot, 'outgrow', stackId)
    this.#cpus = cpus
  }

  describe (): string {
    return `cgroup v1 CPU quota: ${this.#cpus} core(s) per server (cpu.cfs_quota_us over a ${cfsPeriodFor(this.#cpus) / 1000} ms period), on a ${availableParallelism()}-core machine`
  }

  place (server: string, pid: number, cpus = this.#cpus): void {
    const dir = join(this.#base, server)
    if (!this.#created.has(dir)) {
      mkdirSync(dir, { recursive: true })
      const period = cfsPeriodFor(cpus)
      // Quota first when shrinking the period would otherwise leave quota > period × cores allowed.
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), '-1')
      writeFileSync(join(dir, 'cpu.cfs_period_us'), String(period))
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(Math.round(period * cpus)))
      this.#created.add(dir)
    }
    writeFileSync(join(dir, 'cgroup.procs'), String(pid))
    if (this.#acctBase !== undefined) {
      const acct = join(this.#acctBase, server)
      try {
        mkdirSync(acct, { recursive: true })
        writeFileSync(join(acct, 'cgroup.procs'), String(pid))
      } catch {
        // Accounting only: the quota holds without it; serverCpu then sums /proc for the group.
      }
    }
  }

  serverCpu (server: string): ServerCpuReading | undefined {
    const dir = join(this.#base, server)
    if (!this.#created.has(dir)) return undefined
    return readCgroupCpu(dir, this.#acctBase === undefined ? undefined : join(this.#acctBase, server), availableParallelism())
  }

  async cleanup ({ graceMs = 2000 } = {}): Promise<number[]> {
    const groups = [...this.#created].flatMap((dir) => this.#acctBase === undefined ? [dir] : [dir, join(this.#acctBase, dir.slice(this.#base.length + 1))])
    // A process that has just exited can hold its group for a moment, and a stopped parent can
    // leave a child behind (a backend, a helper): wait for them, then kill what stays.
    let left = await removeGroupsWithin(groups, graceMs)
    const killed = new Set<number>()
    if (left.length > 0) {
      // With cpuacct mounted apart, a process is in a group of each.
      for (const pid of new Set(left.flatMap(groupPids))) {
        if (pid === process.pid) continue
        try { process.kill(pid, 'SIGKILL'); killed.add(pid) } catch { /* gone already */ }
      }
      left = await removeGroupsWithin(left, 1000)
    }
    for (const dir of [this.#base, this.#acctBase]) if (dir !== undefined) try { rmdirSync(dir) } catch { /* left to the next stack's sweep */ }
    this.#created.clear()
    return [...killed]
  }
}

/** The pids in a cgroup (v1 `cgroup.procs`); none once it is gone. */
function groupPids (dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter((line) => line !== '').map(Number)
  } catch {
    return []
  }
}

/** Removes each group as soon as it is empty, for at most `ms`; the groups still there after that. */
async function removeGroupsWithin (groups: readonly string[], ms: number): Promise<string[]> {
  const deadline = Date.now() + ms
  let left = groups.filter((dir) => existsSync(dir))
  for (;;) {
    left = left.filter((dir) => {
      try { rmdirSync(dir); return false } catch (err) { return (err as NodeJS.ErrnoException).code !== 'ENOENT' }
    })
    if (left.length === 0 || Date.now() >= deadline) return left
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Without cgroups: pin each server to one core, in turn. Coarser: a server gets a whole core. */
class TasksetEmulation implements ServerEmulation {
  readonly mode = 'taskset'
  readonly #cores = availableParallelism()
  readonly #assigned = new Map<string, number>()
  readonly #pids = new PlacedPids()

  describe (): string {
    return `taskset pinning: each server pinned to one of ${this.#cores} cores (no fractional CPU quota available)`
  }

  place (server: string, pid: number): void {
    let core = this.#assigned.get(server)
    if (core === undefined) this.#assigned.set(server, core = this.#assigned.size % this.#cores)
    execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' })
    this.#pids.add(server, pid)
  }

  /** From /proc, against one whole core (servers pinned to the same core share it, which this does not see). */
  serverCpu (server: string): ServerCpuReading | undefined {
    const pids = this.#pids.alive(server)
    return pids === undefined ? undefined : { usageNs: processTreesCpuNs(pids), quotaCores: 1, throttling: undefined, source: 'proc' }
  }

  async cleanup (): Promise<number[]> { return [] }
}

class NoEmulation implements ServerEmulation {
  readonly mode = 'none'
  readonly #reason: string
  readonly #pids = new PlacedPids()
  constructor (reason: string) { this.#reason = reason }
  describe (): string { return `not isolated: every server shares all ${availableParallelism()} cores (${this.#reason})` }
  place (server: string, pid: number): void { this.#pids.add(server, pid) }
  /** From /proc, against the whole machine: no server has a budget of its own. */
  serverCpu (server: string): ServerCpuReading | undefined {
    const pids = this.#pids.alive(server)
    return pids === undefined ? undefined : { usageNs: processTreesCpuNs(pids), quotaCores: availableParallelism(), throttling: undefined, source: 'proc' }
  }
  async cleanup (): Promise<number[]> { return [] }
}

function cgroupUsable (): boolean {
  try {
    if (!existsSync(join(CGROUP_CPU_ROOT, 'cpu.cfs_quota_us'))) return false
    const probe = join(CGROUP_CPU_ROOT, 'outgrow', `probe-${process.pid}`)
    mkdirSync(probe, { recursive: true })
    rmdirSync(probe)
    return true
  } catch {
    return false
  }
}

function tasksetUsable (): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Removes empty cgroups (cpu, and cpuacct where mounted apart) left by stacks whose supervisor was killed. */
function sweepStaleCgroups (): void {
  sweepStaleUnder(join(CGROUP_CPU_ROOT, 'outgrow'))
  const acctRoot = separateCpuacctRoot()
  if (acctRoot !== undefined) sweepStaleUnder(join(acctRoot, 'outgrow'))
}

function sweepStaleUnder (root: string): void {
  if (!existsSync(root)) return
  for (const stack of readdirSync(root, { withFileTypes: true })) {
    // A live stack's group can be empty for a moment (a server between two processes): not stale.
    if (!stack.isDirectory() || supervisorAlive(stack.name)) continue
    const stackDir = join(root, stack.name)
    for (const server of readdirSync(stackDir, { withFileTypes: true })) {
      if (server.isDirectory()) try { rmdirSync(join(stackDir, server.name)) } catch {}
    }
    try { rmdirSync(stackDir) } catch {}
  }
}

/** Whether the supervisor a stack's group is named after (`<pid>-<random>`) still runs. */
function supervisorAlive (stackId: string): boolean {
  const pid = Number(/^(\d+)-/.exec(stackId)?.[1])
  if (!Number.isInteger(pid) || pid <= 0) return false
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function createEmulation (mode: 'auto' | 'cgroup' | 'taskset' | 'none', stackId: string, cpusPerServer: number): ServerEmulation {
  if (mode === 'none') return new NoEmulation('disabled by configuration')
  if ((mode === 'auto' || mode === 'cgroup') && cgroupUsable()) {
    sweepStaleCgroups()
    return new CgroupEmulation(stackId, cpusPerServer)
  }
  if ((mode === 'auto' || mode === 'taskset') && tasksetUsable()) return new TasksetEmulation()
  return new NoEmulation(mode === 'auto' ? 'neither a writable cgroup v1 CPU controller nor taskset is available' : `${mode} is not available here`)
}
