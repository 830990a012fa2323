import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadStackConfig } from '../config/load.js'
import type { Topology } from '../config/levels.js'
import { Stack } from '../control/stack.js'
import { freePort } from '../supervisor/free-port.js'
import { calibrateCpu, type CpuCalibration } from './calibration.js'
import { calibrateLoopback, type LoopbackCalibration } from './loopback-calibration.js'
import { warmCatalog } from './catalog-warm.js'
import { searchCapacity, spread, type SearchOptions } from './capacity-search.js'
import { stepProbe, type MeasuredStep, type StepSettings } from './capacity-step.js'
import { renderCapacityMarkdown } from './capacity-report.js'
import { cpuBound, type CpuBound } from './service-demand.js'
import { diagnoseKnee, type KneeDiagnosis } from './knee.js'
import { describeMachine, type MachineDescription } from './machine.js'
import { runOpenLoop } from './open-loop.js'
import { formatStepLine, progressPrinter } from './progress.js'
import { quietStart } from './quiet-start.js'
import { describeIncident, gatewayIncidents, incidentFilter, type RunIncident } from './run-incidents.js'
import { writeChartsBeside } from './report-charts/write-report.js'
import { compactJson } from './scenario-bench.js'
import { UserMix } from './user-mix.js'
import { loginUsers } from './virtual-users.js'
import { seededRandom } from './zipf.js'

/** One configuration measured: a level, or level 4 with a given number of app instances. */
export interface CapacityTarget {
  readonly label: string
  readonly level: number
  /** App instances (scale-out); the level's own count when absent. */
  readonly instances?: number | undefined
}

export interface CapacityRun {
  /** The machine's single-core speed just before this run (calibration ops/s): it drifts. */
  readonly calibration: number
  readonly capacity: number
  readonly firstFailing: number
  readonly limited: boolean
  readonly steps: readonly MeasuredStep[]
  /** Exits and leader changes while the stack was up (run-incidents.ts). */
  readonly incidents?: readonly RunIncident[] | undefined
  /** The rate at which some server would run out of CPU, from the passing steps (service-demand.ts). */
  readonly cpuBound?: CpuBound | undefined
}

export interface TargetCapacity {
  readonly label: string
  readonly level: number
  readonly instances: number
  readonly topology: Topology
  readonly emulation: string
  readonly runs: readonly CapacityRun[]
  /** Median of the runs' capacities, with their range. */
  readonly capacity: { readonly median: number, readonly min: number, readonly max: number }
  /** Capacity per 1000 calibration ops/s of the same run (the machine's speed taken out): median, min, max. */
  readonly perCalibration: { readonly median: number, readonly min: number, readonly max: number }
  /** What ran out at the knee, measured on the last run. */
  readonly knee?: KneeDiagnosis | undefined
  /** The runs' CPU bounds (service-demand.ts): median, min, max; absent from older reports. */
  readonly cpuBound?: { readonly median: number, readonly min: number, readonly max: number } | undefined
}

export interface CapacitySettings {
  readonly repeats: number
  /** The repeats ran in rounds (every target once, then again); older reports ran each target's back to back. */
  readonly inRounds?: boolean
  readonly steps: StepSettings
  readonly search: SearchOptions
  readonly users: number
  readonly password: string
  readonly warmupSeconds: number
  /** Share of product views whose pages are requested once before measuring (catalog-warm.ts); 0 leaves the cache cold. */
  readonly warmCacheShare: number
  /** Seconds a user thinks between two requests, to turn a rate into active users. */
  readonly thinkSeconds: number
  readonly products: number
  readonly cpusPerServer: number
  readonly ha: boolean
}

export interface CapacityReport {
  readonly createdAt: string
  readonly command: string
  readonly machine: MachineDescription
  readonly calibration: CpuCalibration
  /** Absent from reports written before it was measured. */
  readonly loopback?: LoopbackCalibration | undefined
  readonly settings: CapacitySettings
  readonly levels: readonly TargetCapacity[]
  readonly scaleOut: readonly TargetCapacity[]
  /** An earlier report's capacities, to show how well a run repeats. */
  readonly previous?: {
    readonly createdAt: string
    readonly capacities: Readonly<Record<string, number>>
    /** The earlier report's CPU bounds (absent from reports written before they were measured). */
    readonly cpuBounds?: Readonly<Record<string, number>> | undefined
  } | undefined
}

export interface CapacityBenchOptions {
  readonly configFile: string
  readonly levels: readonly number[]
  /** Level 4 with each of these app instance counts, every instance on its own server. */
  readonly scaleOut: readonly number[]
  readonly overrides: Record<string, unknown>
  readonly settings: Omit<CapacitySettings, 'products' | 'cpusPerServer' | 'ha' | 'inRounds'>
  /** Profile and read statements at each target's knee (on its last run). */
  readonly diagnose: boolean
  readonly outDir: string
  readonly command: string
  readonly previous?: CapacityReport['previous']
  readonly log: (line: string) => void
}

/** Brings the target's stack up fresh, searches its capacity, diagnoses the knee when asked, brings it down. */
async function measureRun (options: CapacityBenchOptions, target: CapacityTarget, bracket: readonly [number, number] | undefined, diagnose: boolean): Promise<{ run: CapacityRun, topology: Topology, emulation: string, instances: number, knee?: KneeDiagnosis }> {
  const calibration = calibrateCpu().opsPerSecond
  const overrides = { ...options.overrides, level: target.level, port: await freePort(), ...(target.instances === undefined ? {} : { instances: target.instances }) }
  const loaded = await loadStackConfig(options.configFile, overrides)
  const stack = new Stack({ loaded, control: false, log: (line) => { options.log(`  ${target.label}: ${line}`) } })
  const info = await stack.up()
  const upAt = Date.now()
  const steps: MeasuredStep[] = []
  const incidents: RunIncident[] = []
  let searching = false
  const isIncident = incidentFilter()
  const unsubscribe = stack.events.subscribe((event) => {
    if (!isIncident(event)) return
    const incident = { atSeconds: Math.round((Date.now() - upAt) / 100) / 10, step: searching ? steps.length : -1, what: describeIncident(event) }
    incidents.push(incident)
    options.log(`  ${target.label}: ⚠ ${incident.what}`)
  })
  try {
    const { settings } = options
    // Logins first: each costs a scrypt hash (~0.5 s of CPU), which would still be running on a
    // fraction-of-a-core app server when the search begins if they came after the quiet start.
    // One at a time: two hashes at once on one quarter-core instance (level 4 with one instance)
    // took over the gateway's 5 s, and every retry piled another hash on the abandoned ones.
    const users = await loginUsers(info.url, settings.users, settings.password, 1)
    if (settings.warmCacheShare > 0) {
      const warmed = await warmCatalog({ url: info.url, products: loaded.config.seed.products, share: settings.warmCacheShare, timeoutMs: settings.steps.timeoutMs })
      options.log(`  ${target.label}: cache warmed with the ${warmed.products} most viewed products (${Math.round(settings.warmCacheShare * 100)} % of product views) in ${warmed.seconds} s${warmed.failures > 0 ? `, ${warmed.failures} failed` : ''}`)
    }
    // Each server's lowest reading on this stack, kept across the waits (quiet-start.ts).
    const floors = new Map<string, number>()
    const quiet = await quietStart(stack, { floors })
    options.log(`  ${target.label}: ${quiet.quiet ? 'quiet' : 'still busy'} after ${(quiet.waitedMs / 1000).toFixed(1)} s (vacuum, checkpoint, then every server at rest; busiest ${quiet.busiest})`)
    const mix = new UserMix(users, loaded.config.seed.products, seededRandom(42))
    const next = (): ReturnType<UserMix['next']> => mix.next()
    const warmRate = bracket === undefined ? settings.search.startRate : bracket[0] * 0.7
    // Every step starts from rest: whatever the warm-up or an overloaded step left behind (dead rows
    // for autovacuum, dirty pages for the checkpointer) is paid for before the next step, not inside
    // it, so a rate's verdict does not depend on the steps that came before it.
    const recover = async (): Promise<void> => {
      try {
        const rest = await quietStart(stack, { timeoutMs: 20_000, floors })
        if (!rest.quiet || rest.waitedMs > 5000) options.log(`  ${target.label}: ${rest.quiet ? 'at rest' : 'still busy'} after ${(rest.waitedMs / 1000).toFixed(1)} s between steps (busiest ${rest.busiest})`)
      } catch (err) {
        options.log(`  ${target.label}: could not bring the stack to rest between steps (${(err as Error).message}); measuring anyway`)
      }
    }
    if (settings.warmupSeconds > 0) {
      await runOpenLoop({ url: info.url, rate: warmRate, durationMs: settings.warmupSeconds * 1000, connections: settings.steps.connections, timeoutMs: settings.steps.timeoutMs, next, onTick: progressPrinter(`${target.label} warm-up`) })
      await recover()
    }
    // Read at every step: the gateway keeps its port, but this stays right if it moves.
    const gatewayMetricsUrl = (): string | undefined => stack.info().processes.find((p) => p.role === 'gateway')?.metricsUrl
    const probe = stepProbe({ url: info.url, next, label: target.label, gatewayMetricsUrl, recover, cpu: stack }, settings.steps, (step) => {
      for (const what of gatewayIncidents(step.upstreams)) {
        incidents.push({ atSeconds: Math.round((Date.now() - upAt) / 100) / 10, step: steps.length, what })
        options.log(`  ${target.label}: ⚠ ${what}`)
      }
      steps.push(step)
      options.log(`  ${formatStepLine(target.label, step)}`)
    })
    searching = true
    const result = await searchCapacity(probe, { ...settings.search, bracket })
    const run: CapacityRun = { calibration, capacity: result.capacity, firstFailing: result.firstFailing, limited: result.limited, steps, incidents, cpuBound: cpuBound(steps) }
    const instances = info.processes.filter((p) => p.role === 'app').length
    if (!diagnose || result.capacity === 0) return { run, topology: info.topology, emulation: info.emulation, instances }
    // At the knee: just past the capacity, where the bottleneck is certainly at its limit.
    const kneeRate = Math.round(Number.isFinite(result.firstFailing) ? Math.min(result.firstFailing, result.capacity * 1.1) : result.capacity)
    options.log(`  ${target.label}: diagnosing the knee at ${kneeRate} req/s`)
    const knee = await diagnoseKnee(stack, { url: info.url, next, label: `${target.label} knee`, gatewayMetricsUrl }, kneeRate, settings.steps, join(options.outDir, 'profiles', target.label.replace(/[^\w-]+/g, '-')))
    return { run, topology: info.topology, emulation: info.emulation, instances, knee }
  } finally {
    unsubscribe()
    await stack.down()
  }
}

type MeasuredRun = Awaited<ReturnType<typeof measureRun>>

/** A target and its runs so far. */
interface TargetRuns {
  readonly target: CapacityTarget
  readonly scaleOut: boolean
  readonly runs: CapacityRun[]
  last?: MeasuredRun
}

async function measureOnce (options: CapacityBenchOptions, progress: TargetRuns, round: number): Promise<void> {
  const { target, runs } = progress
  const repeats = options.settings.repeats
  // Later runs start from a bracket around the first run's capacity: fewer steps, same rule.
  const first = runs[0]
  const bracket = first === undefined || first.capacity === 0 ? undefined : [first.capacity * 0.85, first.capacity * 1.15] as const
  options.log(`${target.label}: run ${round + 1} of ${repeats} on a fresh stack`)
  const measured = await measureRun(options, target, bracket, options.diagnose && round === repeats - 1)
  runs.push(measured.run)
  progress.last = measured
  options.log(`${target.label}: run ${round + 1}: capacity ${measured.run.capacity} req/s${measured.run.limited ? ' (the search\'s maximum)' : ''}`)
}

function summarize ({ target, runs, last }: TargetRuns & { last: MeasuredRun }): TargetCapacity {
  const bounds = runs.flatMap((r) => (r.cpuBound === undefined ? [] : [r.cpuBound.rate]))
  return {
    label: target.label, level: target.level, instances: last.instances, topology: last.topology, emulation: last.emulation, runs: [...runs],
    capacity: spread(runs.map((r) => r.capacity)),
    perCalibration: spread(runs.map((r) => Math.round(r.capacity / r.calibration * 1000 * 100) / 100)),
    knee: last.knee,
    cpuBound: bounds.length === 0 ? undefined : spread(bounds),
  }
}

/**
 * `outgrow bench --levels`: the capacity of each level (and of level 4 scaled out), each searched
 * on fresh stacks `repeats` times, in rounds; writes capacity.md and capacity.json after every run.
 */
export async function benchCapacity (options: CapacityBenchOptions): Promise<{ report: CapacityReport, files: string[] }> {
  if (options.settings.repeats < 1) throw new RangeError('repeats must be at least 1')
  const loaded = await loadStackConfig(options.configFile, { ...options.overrides, level: 4 })
  options.log('calibrating the machine (a fixed single-core workload)')
  const calibration = calibrateCpu()
  options.log(`calibration: ${calibration.opsPerSecond} ops/s on one core`)
  const loopback = await calibrateLoopback()
  options.log(`loopback round trip between two processes: ${loopback.roundTripUs} µs`)
  const settings: CapacitySettings = { ...options.settings, inRounds: true, products: loaded.config.seed.products, cpusPerServer: loaded.config.emulation.cpusPerServer, ha: loaded.config.ha }
  const levels: TargetCapacity[] = []
  const scaleOut: TargetCapacity[] = []
  const files = [join(options.outDir, 'capacity.md'), join(options.outDir, 'capacity.json')]
  await mkdir(options.outDir, { recursive: true })
  let report: CapacityReport = { createdAt: new Date().toISOString(), command: options.command, machine: describeMachine(), calibration, loopback, settings, levels, scaleOut, previous: options.previous }
  const write = async (): Promise<void> => {
    // Measured in the order given; reported by level, so ratios compare each level with the one below.
    report = { ...report, levels: [...levels].sort((a, b) => a.level - b.level), scaleOut: [...scaleOut] }
    await writeFile(files[0] as string, renderCapacityMarkdown(report))
    await writeFile(files[1] as string, compactJson(report))
    const html = await writeChartsBeside({ kind: 'capacity', report }, files[0] as string)
    if (!files.includes(html)) files.push(html)
  }
  const targets: TargetRuns[] = [
    ...options.levels.map((level) => ({ target: { label: `L${level}`, level }, scaleOut: false, runs: [] })),
    ...options.scaleOut.map((instances) => ({ target: { label: `L4 ×${instances}`, level: 4, instances }, scaleOut: true, runs: [] })),
  ]
  // In rounds, every target once and then every target again: a drift of the machine's speed over
  // the run then reaches every target alike, instead of all the repeats of one of them.
  for (let round = 0; round < options.settings.repeats; round++) {
    if (options.settings.repeats > 1) options.log(`round ${round + 1} of ${options.settings.repeats}`)
    for (const progress of targets) {
      await measureOnce(options, progress, round)
      const measured = targets.filter((t): t is TargetRuns & { last: MeasuredRun } => t.last !== undefined)
      levels.splice(0, levels.length, ...measured.filter((t) => !t.scaleOut).map(summarize))
      scaleOut.splice(0, scaleOut.length, ...measured.filter((t) => t.scaleOut).map(summarize))
      await write()
    }
  }
  return { report, files }
}
