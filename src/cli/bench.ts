import { existsSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { OutgrowError } from '../errors/index.js'
import { benchLevels, measure, type LoadSettings } from '../lab/bench.js'
import { benchCapacity, type CapacityReport } from '../lab/capacity-levels.js'
import { raiseOwnPriority } from '../supervisor/priority.js'
import { levelsTable, type BenchReport } from '../lab/report.js'
import { describeMachine } from '../lab/machine.js'
import { writeChartReport } from '../lab/report-charts/write-report.js'
import type { ScalingMetric } from '../lab/contenders.js'
import type { ShapeName } from '../lab/load-shapes.js'
import { benchScenarios } from '../lab/scenario-bench.js'
import { scenarioTable } from '../lab/scenario-report.js'
import { DEFAULT_SLO } from '../lab/scenario-metrics.js'
import { stopLiveStacksOnSignal } from '../control/live-stacks.js'
import type { StackInfo } from '../control/stack.js'
import { definedOnly, resolveConfigFile } from './options.js'

export interface BenchCliOptions {
  config?: string
  levels?: number[]
  scaleOut?: number[]
  url: string
  rate?: number
  duration: number
  warmup: number
  users: number
  connections: number
  timeout: number
  out: string
  products?: number
  cpus?: number
  emulation?: string
  password: string
  scenario?: ShapeName[]
  base?: number
  lead?: number
  hold?: number
  tail?: number
  metric: ScalingMetric['kind']
  target: number
  minInstances: number
  maxInstances: number
  sloMs: number
  capacity?: number
  appCpus?: number
  repeat: number
  step: number
  minRequests: number
  warmCache: number
  rampStep: number
  settle: number
  startRate: number
  maxRate: number
  precision: number
  think: number
  diagnose: boolean
  compare?: string
}

/** An earlier capacity.json's medians by target, to print beside this run's. */
function previousCapacities (file: string | undefined): CapacityReport['previous'] {
  if (file === undefined) return undefined
  let report: CapacityReport
  try {
    report = JSON.parse(readFileSync(file, 'utf8')) as CapacityReport
  } catch (err) {
    throw new OutgrowError('OUTGROW_CONFIG_INVALID', `--compare: cannot read ${file} as a capacity report: ${(err as Error).message}`, { field: 'compare' })
  }
  const levels: unknown = report.levels
  if (!Array.isArray(levels)) throw new OutgrowError('OUTGROW_CONFIG_INVALID', `--compare: ${file} is not a capacity report (no levels)`, { field: 'compare' })
  const capacities: Record<string, number> = {}
  const cpuBounds: Record<string, number> = {}
  const targets: CapacityReport['levels'] = [...report.levels, ...((report.scaleOut as CapacityReport['scaleOut'] | undefined) ?? [])]
  for (const t of targets) {
    capacities[t.label] = t.capacity.median
    if (t.cpuBound !== undefined) cpuBounds[t.label] = t.cpuBound.median
  }
  return { createdAt: report.createdAt, capacities, cpuBounds }
}

/** `outgrow bench --levels` without --rate: each level's capacity, and level 4 scaled out. */
async function benchLevelCapacity (options: BenchCliOptions, levels: number[], log: (line: string) => void): Promise<void> {
  const { report, files } = await benchCapacity({
    configFile: resolveConfigFile(options.config),
    levels,
    scaleOut: options.scaleOut ?? [],
    overrides: configOverrides(options),
    settings: {
      repeats: options.repeat,
      steps: {
        settleSeconds: options.settle, rampSeconds: options.rampStep, fullSeconds: options.step, minRequests: options.minRequests, maxFullSeconds: 60, pauseMs: 1500,
        connections: options.connections, timeoutMs: options.timeout, slo: { p99Ms: options.sloMs, errorRatio: 0.001 }, maxSendLagMs: 20,
      },
      search: { startRate: options.startRate, growth: 1.6, precision: options.precision, maxRate: options.maxRate, minRate: 1, retryWithin: 3, sloP99Ms: options.sloMs },
      users: options.users, password: options.password, warmupSeconds: options.warmup, warmCacheShare: options.warmCache, thinkSeconds: options.think,
    },
    diagnose: options.diagnose,
    outDir: options.out,
    command: `outgrow bench ${process.argv.slice(3).join(' ')}`,
    previous: previousCapacities(options.compare),
    log,
  })
  const lines = [...report.levels, ...report.scaleOut].map((t) => `${t.label}: ${t.capacity.median} req/s (${t.capacity.min}–${t.capacity.max} over ${t.runs.length} runs)${t.knee === undefined ? '' : `; ${t.knee.verdict}`}`)
  process.stdout.write(`${lines.join('\n')}\n\nreport written to ${files.join(' and ')}\n`)
}

function configOverrides (options: BenchCliOptions): Record<string, unknown> {
  const overrides: Record<string, unknown> = {}
  if (options.products !== undefined) overrides.seed = { products: options.products, users: Math.max(options.users, 1000) }
  const emulation = definedOnly({ mode: options.emulation, cpusPerServer: options.cpus })
  if (Object.keys(emulation).length > 0) overrides.emulation = emulation
  return overrides
}

/** `outgrow bench --scenario step,spike`: each load shape against Outgrow's autoscaler, HPA's defaults and a fixed fleet. */
async function benchScenario (options: BenchCliOptions, scenarios: ShapeName[], log: (line: string) => void): Promise<void> {
  const { report, files } = await benchScenarios({
    configFile: resolveConfigFile(options.config),
    scenarios,
    shape: definedOnly({ base: options.base, leadSeconds: options.lead, holdSeconds: options.hold, tailSeconds: options.tail }),
    metric: { kind: options.metric, target: options.target },
    min: options.minInstances,
    max: options.maxInstances,
    slo: { ...DEFAULT_SLO, p99Ms: options.sloMs },
    capacityPerInstance: options.capacity,
    appCpus: options.appCpus,
    load: { users: options.users, connections: options.connections, timeoutMs: options.timeout, password: options.password, warmupSeconds: options.warmup },
    overrides: configOverrides(options),
    out: join(options.out, 'autoscaling'),
    command: `outgrow bench ${process.argv.slice(3).join(' ')}`,
    log,
  })
  process.stdout.write(`${report.scenarios.map((s) => `${s.shape.name}: ${s.shape.description}\n${scenarioTable(s)}`).join('\n\n')}\n\nreport written to ${files.join(' and ')}\n`)
}

/** `outgrow bench`: against a running stack (--url), or level by level (--levels) with a written report. */
export async function bench (options: BenchCliOptions): Promise<void> {
  const log = (line: string): void => { process.stderr.write(`outgrow: ${line}\n`) }
  // The stacks a bench brings up are stopped in order on Ctrl-C or SIGTERM, not left to the kernel.
  stopLiveStacksOnSignal({ log })
  // The generator shares the machine with the stack it loads: above the servers, it sends on time.
  const nice = raiseOwnPriority()
  log(nice === undefined
    ? 'the load generator runs at the servers\' priority (raising it needs root or CAP_SYS_NICE): a busy machine can delay its sends'
    : `the load generator runs at nice ${nice}, the servers it starts at their usual priority`)
  const load: LoadSettings = {
    rate: options.rate ?? 200, durationSeconds: options.duration, warmupSeconds: options.warmup, users: options.users,
    connections: options.connections, timeoutMs: options.timeout, password: options.password,
  }
  if (options.scenario !== undefined) {
    await benchScenario(options, options.scenario, log)
    return
  }
  if ((options.levels !== undefined || options.scaleOut !== undefined) && options.rate === undefined) {
    await benchLevelCapacity(options, options.levels ?? [], log)
    return
  }
  if (options.scaleOut !== undefined) throw new OutgrowError('OUTGROW_CONFIG_INVALID', '--scale-out is part of the capacity search: it takes no --rate', { field: 'scaleOut' })
  if (options.levels !== undefined) {
    const { report, files } = await benchLevels({ configFile: resolveConfigFile(options.config), levels: options.levels, load, outDir: options.out, overrides: configOverrides(options), log })
    process.stdout.write(`${levelsTable(report.levels)}\n\nreport written to ${files.join(' and ')}\n`)
    return
  }
  // A stack started by `outgrow up` in this directory tells which processes to read counters from.
  let info: StackInfo | undefined
  if (existsSync('.outgrow/stack.json')) info = JSON.parse(readFileSync('.outgrow/stack.json', 'utf8')) as StackInfo
  const processes = info !== undefined && info.url === options.url ? info.processes : []
  const result = await measure({ url: options.url, products: options.products ?? 10_000, processes, label: 'bench' }, load)
  const l = result.load
  process.stdout.write([
    `offered ${l.offeredRate} req/s, achieved ${l.achievedRate} req/s over ${(l.durationMs / 1000).toFixed(1)} s (${l.ok} 2xx, ${l.answered} answered, of ${l.completed})`,
    `latency ms: p50 ${l.latency.p50Ms}  p90 ${l.latency.p90Ms}  p99 ${l.latency.p99Ms}  p99.9 ${l.latency.p999Ms}  max ${l.latency.maxMs}`,
    `generator send lag ms: p50 ${l.sendLag.p50Ms}  p99 ${l.sendLag.p99Ms}`,
    `errors: ${Object.keys(l.errorsByKind).length === 0 ? 'none' : Object.entries(l.errorsByKind).map(([k, v]) => `${k}×${v}`).join(', ')}`,
    processes.length === 0
      ? 'server counters: unavailable (no stack started by `outgrow up` at this URL in this directory)'
      : `server: primary ${result.server.primaryQueriesPerSecond} q/s, replica ${result.server.replicaQueriesPerSecond} q/s, cache hit ratio ${result.server.cacheHitRatio ?? '—'}`,
    `instances: ${Object.entries(l.instances).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    '',
  ].join('\n'))
  if (info === undefined || info.url !== options.url) return
  // A stack of `outgrow up` says what was measured: the run gets its JSON and HTML page like a level's.
  const report: BenchReport = {
    createdAt: new Date().toISOString(), machine: describeMachine(),
    settings: { rate: load.rate, durationSeconds: load.durationSeconds, warmupSeconds: load.warmupSeconds, users: load.users, connections: load.connections, products: options.products ?? 10_000, cpusPerServer: options.cpus ?? 0 },
    levels: [{ level: info.level, topology: info.topology, emulation: info.emulation, ...result }],
  }
  await mkdir(options.out, { recursive: true })
  await writeFile(join(options.out, 'bench.json'), JSON.stringify(report, null, 2) + '\n')
  const charts = await writeChartReport({ kind: 'levels', report }, options.out, 'bench')
  process.stdout.write(`report written to ${join(options.out, 'bench.json')} and ${charts.html}\n`)
}
