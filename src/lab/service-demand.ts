/**
 * The CPU bound of a capacity search, by the operational laws (Denning and Buzen's utilization law,
 * U = X · D): each emulated server's CPU use grows with the rate it serves, by its service demand D
 * (CPU seconds per request) over a background it uses at rest. Fitted over the steps that held the
 * objective, `(quota − background) / D` is the rate at which that server would use its whole quota;
 * the lowest such rate, the machine's own cores included, bounds the level's throughput.
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
  /** CPU milliseconds per request (the fitted slope). */
  readonly cpuMsPerRequest: number
  /** Cores used at rest (the fitted intercept, never below 0). */
  readonly backgroundCores: number
  readonly quotaCores: number
  /** The rate at which it would use its whole quota; never below the highest rate a passing step served. */
  readonly boundRate: number
}

export interface CpuBound {
  /** The lowest bound: the most the level can serve before some server runs out of CPU. */
  readonly rate: number
  /** The server (or 'machine') that sets it. */
  readonly limitedBy: string
  /** Steps the fit rests on. */
  readonly steps: number
  /** Every server with a measurable demand, lowest bound first. */
  readonly servers: readonly ServerDemand[]
}

/**
 * Rates must span this factor for the intercept to mean anything: steps that all sit near the knee
 * (a bisection's) give a slope that noise decides, so they get the line through the origin.
 */
const MIN_RATE_SPAN = 1.5

/** Least squares y = a + b·x; the line through the origin when the rates are too close together. */
function fit (points: ReadonlyArray<readonly [number, number]>): { a: number, b: number } {
  const n = points.length
  const xs = points.map(([x]) => x)
  if (Math.max(...xs) < MIN_RATE_SPAN * Math.min(...xs)) return { a: 0, b: throughOrigin(points) }
  const mx = xs.reduce((s, x) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0)
  const b = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx
  return { a: my - b * mx, b }
}

function throughOrigin (points: ReadonlyArray<readonly [number, number]>): number {
  const sxx = points.reduce((s, [x]) => s + x * x, 0)
  return sxx > 0 ? points.reduce((s, [x, y]) => s + x * y, 0) / sxx : 0
}

function demand (server: string, points: ReadonlyArray<readonly [number, number]>, quotaCores: number, served: number): ServerDemand | undefined {
  let { a, b } = fit(points)
  if (a < 0) {
    // A negative background is noise: the line through the origin fits such a server better.
    b = throughOrigin(points)
    a = 0
  }
  if (!(b > 0) || !(quotaCores > 0)) return undefined
  // Never below a rate the steps sustained: a fit that says so is off (a background over the quota, say).
  const boundRate = Math.max(served, (quotaCores - a) / b)
  return { server, cpuMsPerRequest: b * 1000, backgroundCores: a, quotaCores, boundRate }
}

/**
 * The CPU bound from the steps that held the objective and carry CPU readings; undefined when
 * there are none, or no server's use grew with the rate.
 */
export function cpuBound (steps: readonly DemandStep[]): CpuBound | undefined {
  const usable = steps.filter((s): s is DemandStep & { cpu: StepCpu } => s.pass && s.achievedRate > 0 && s.cpu !== undefined)
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
  const last = usable[usable.length - 1] as DemandStep & { cpu: StepCpu }
  const machine = demand('machine', usable.map((s) => [s.achievedRate, s.cpu.machineBusyCores] as const), last.cpu.machineCores, served)
  if (machine !== undefined) servers.push(machine)
  if (servers.length === 0) return undefined
  servers.sort((x, y) => x.boundRate - y.boundRate)
  const lowest = servers[0] as ServerDemand
  return { rate: Math.round(lowest.boundRate), limitedBy: lowest.server, steps: usable.length, servers }
}
