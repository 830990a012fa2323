/**
 * The CPU bound of a capacity search, by the utilization law (U = X · D): at the highest rates that
 * held the objective, each emulated server used so much CPU per request served (its service demand
 * D, its CPU at rest included); `quota / D` is the rate at which that server would use its whole
 * quota, and the lowest such rate, the machine's own cores included, bounds the level's throughput.
 *
 * Only the top passing steps count: they are the operating point near the knee, and they come late
 * in a search, after the JIT and the cache have warmed. A line fitted over all steps was tried
 * first: the early, low-rate steps cost more per request (a cold cache, unoptimized code), which
 * tilted the line and put the app server's bound at level 3 far above what its quota allowed.
 * Counting the CPU at rest in D makes the bound a little low, never high.
 *
 * Why beside the knee: the knee is a verdict on tail latency, and on small CPU shares the tail
 * swings from run to run with throttling and pauses (docs/capacity.md); CPU per request is an
 * average over thousands of requests. The gap between the two is what queueing costs at the SLO.
 */

/** One server's CPU over one step's measured window. */
export interface StepServerCpu {
  readonly server: string
  /** CPU seconds per second of the window. */
  readonly usedCores: number
  readonly quotaCores: number
}

/** CPU over one step's measured window, as stored with the step. */
export interface StepCpu {
  readonly servers: readonly StepServerCpu[]
  /** Cores busy on the whole machine, the load generator included. */
  readonly machineBusyCores: number
  readonly machineCores: number
}

/** What `cpuBound` needs of a step. */
export interface DemandStep {
  readonly pass: boolean
  readonly achievedRate: number
  readonly cpu?: StepCpu | undefined
}

export interface ServerDemand {
  /** A server's name, or 'machine' for all of the machine's cores. */
  readonly server: string
  /** CPU milliseconds per request at the top passing steps, its CPU at rest included. */
  readonly cpuMsPerRequest: number
  readonly quotaCores: number
  /** The rate at which it would use its whole quota; never below the highest rate a passing step served. */
  readonly boundRate: number
}

export interface CpuBound {
  /** The lowest bound: the most the level can serve before some server runs out of CPU. */
  readonly rate: number
  /** The server (or 'machine') that sets it. */
  readonly limitedBy: string
  /** Steps the estimate rests on. */
  readonly steps: number
  /** Every server with a measurable demand, lowest bound first. */
  readonly servers: readonly ServerDemand[]
}

/** The passing steps with the highest rates that the estimate rests on. */
const TOP_STEPS = 3

function demand (server: string, points: ReadonlyArray<readonly [number, number]>, quotaCores: number, served: number): ServerDemand | undefined {
  const rate = points.reduce((sum, [x]) => sum + x, 0)
  const used = points.reduce((sum, [, y]) => sum + y, 0)
  const perRequest = rate > 0 ? used / rate : 0
  if (!(perRequest > 0) || !(quotaCores > 0)) return undefined
  // Never below a rate the steps sustained: a server cannot run out below what it served.
  return { server, cpuMsPerRequest: perRequest * 1000, quotaCores, boundRate: Math.max(served, quotaCores / perRequest) }
}

/**
 * The CPU bound from the top steps that held the objective and carry CPU readings; undefined when
 * there are none, or no server used any CPU.
 */
export function cpuBound (steps: readonly DemandStep[]): CpuBound | undefined {
  const usable = steps
    .filter((s): s is DemandStep & { cpu: StepCpu } => s.pass && s.achievedRate > 0 && s.cpu !== undefined)
    .sort((a, b) => b.achievedRate - a.achievedRate)
    .slice(0, TOP_STEPS)
  if (usable.length === 0) return undefined
  const byServer = new Map<string, { quota: number, points: Array<readonly [number, number]> }>()
  for (const step of usable) {
    for (const s of step.cpu.servers) {
      const entry = byServer.get(s.server) ?? { quota: s.quotaCores, points: [] }
      entry.quota = s.quotaCores
      entry.points.push([step.achievedRate, s.usedCores])
      byServer.set(s.server, entry)
    }
  }
  const served = Math.max(...usable.map((s) => s.achievedRate))
  const servers: ServerDemand[] = []
  for (const [server, { quota, points }] of byServer) {
    const d = demand(server, points, quota, served)
    if (d !== undefined) servers.push(d)
  }
  const top = usable[0] as DemandStep & { cpu: StepCpu }
  const machine = demand('machine', usable.map((s) => [s.achievedRate, s.cpu.machineBusyCores] as const), top.cpu.machineCores, served)
  if (machine !== undefined) servers.push(machine)
  if (servers.length === 0) return undefined
  servers.sort((x, y) => x.boundRate - y.boundRate)
  const lowest = servers[0] as ServerDemand
  return { rate: Math.round(lowest.boundRate), limitedBy: lowest.server, steps: usable.length, servers }
}
