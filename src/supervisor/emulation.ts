import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'

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
  cleanup(): void
}

const CGROUP_CPU_ROOT = '/sys/fs/cgroup/cpu'

/** cgroup v1 CPU controller: cpu.cfs_quota_us caps each server at `cpus` cores. */
class CgroupEmulation implements ServerEmulation {
  readonly mode = 'cgroup'
  readonly #base: string
  readonly #cpus: number
  readonly #created = new Set<string>()

  constructor (stackId: string, cpus: number) {
    this.#base = join(CGROUP_CPU_ROOT, 'outgrow', stackId)
    this.#cpus = cpus
  }

  describe (): string {
    return `cgroup v1 CPU quota: ${this.#cpus} core(s) per server (cpu.cfs_quota_us), on a ${availableParallelism()}-core machine`
  }

  place (server: string, pid: number, cpus = this.#cpus): void {
    const dir = join(this.#base, server)
    if (!this.#created.has(dir)) {
      mkdirSync(dir, { recursive: true })
      const period = Number(readFileSync(join(dir, 'cpu.cfs_period_us'), 'utf8'))
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(Math.round(period * cpus)))
      this.#created.add(dir)
    }
    writeFileSync(join(dir, 'cgroup.procs'), String(pid))
  }

  cleanup (): void {
    for (const dir of this.#created) {
      try { rmdirSync(dir) } catch { /* still has processes; removed by the next sweep */ }
    }
    try { rmdirSync(this.#base) } catch {}
  }
}

/** Without cgroups: pin each server to one core, in turn. Coarser: a server gets a whole core. */
class TasksetEmulation implements ServerEmulation {
  readonly mode = 'taskset'
  readonly #cores = availableParallelism()
  readonly #assigned = new Map<string, number>()

  describe (): string {
    return `taskset pinning: each server pinned to one of ${this.#cores} cores (no fractional CPU quota available)`
  }

  place (server: string, pid: number): void {
    let core = this.#assigned.get(server)
    if (core === undefined) this.#assigned.set(server, core = this.#assigned.size % this.#cores)
    execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' })
  }

  cleanup (): void {}
}

class NoEmulation implements ServerEmulation {
  readonly mode = 'none'
  readonly #reason: string
  constructor (reason: string) { this.#reason = reason }
  describe (): string { return `not isolated: every server shares all ${availableParallelism()} cores (${this.#reason})` }
  place (): void {}
  cleanup (): void {}
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

/** Removes empty cgroups left by stacks whose supervisor was killed. */
function sweepStaleCgroups (): void {
  const root = join(CGROUP_CPU_ROOT, 'outgrow')
  if (!existsSync(root)) return
  for (const stack of readdirSync(root, { withFileTypes: true })) {
    if (!stack.isDirectory()) continue
    const stackDir = join(root, stack.name)
    for (const server of readdirSync(stackDir, { withFileTypes: true })) {
      if (server.isDirectory()) try { rmdirSync(join(stackDir, server.name)) } catch {}
    }
    try { rmdirSync(stackDir) } catch {}
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
