import { OutgrowError } from '../../errors/index.js'
import type { CapacityReport } from '../capacity-levels.js'
import type { Figure } from '../charts/figure.js'
import { describeServers, type BenchReport, type LevelResult } from '../report.js'
import type { ScenarioReport } from '../scenario-report.js'
import { capacityFigures } from './capacity-figures.js'
import type { SummaryTable } from './html-report.js'
import { runFigures } from './level-figures.js'
import { scenarioFigures } from './scenario-figures.js'

/** A written bench result the charts know, by what its JSON holds. */
export type ChartedReport =
  | { readonly kind: 'levels', readonly report: BenchReport }
  | { readonly kind: 'capacity', readonly report: CapacityReport }
  | { readonly kind: 'scenarios', readonly report: ScenarioReport }
  | { readonly kind: 'shop-mix', readonly report: ShopMixReport }

/** The part of the cache bench's JSON with fixed-rate runs of the shop: one per level and mix. */
export interface ShopMixReport {
  readonly machine: BenchReport['machine']
  readonly shop: {
    readonly settings: { readonly rate: number, readonly durationSeconds: number, readonly users: number, readonly products: number, readonly emulation: string }
    readonly measurements: ReadonlyArray<Pick<LevelResult, 'level' | 'load' | 'server'> & { readonly mix: string }>
  }
}

/** What the HTML page and the Markdown section are made of, before rendering. */
export interface ReportCharts {
  readonly title: string
  readonly facts: readonly string[]
  readonly summary: SummaryTable
  readonly figures: readonly Figure[]
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null
const firstOf = (v: unknown): unknown => Array.isArray(v) ? v[0] : undefined

/** Tells a levels report (`--rate`), a capacity report, an autoscaling report and the cache bench's shop runs apart; anything else is refused. */
export function identifyReport (json: unknown, source: string): ChartedReport {
  if (isObject(json)) {
    const level = firstOf(json.levels) ?? firstOf(json.scaleOut)
    if (isObject(level) && Array.isArray(level.runs) && isObject(json.settings)) return { kind: 'capacity', report: json as unknown as CapacityReport }
    if (isObject(level) && isObject(level.load) && isObject(level.server)) return { kind: 'levels', report: json as unknown as BenchReport }
    const scenario = firstOf(json.scenarios)
    if (isObject(scenario) && Array.isArray(scenario.contenders) && Array.isArray(scenario.rate)) return { kind: 'scenarios', report: json as unknown as ScenarioReport }
    const measurement = isObject(json.shop) ? firstOf(json.shop.measurements) : undefined
    if (isObject(measurement) && isObject(measurement.load) && isObject(measurement.server)) return { kind: 'shop-mix', report: json as unknown as ShopMixReport }
  }
  throw new OutgrowError('OUTGROW_CONFIG_INVALID', `report: ${source} is not a result of \`outgrow bench\` (levels, capacity, autoscaling scenarios, or the cache bench's shop mix)`, { field: 'report' })
}

const machineFact = (m: BenchReport['machine']): string => `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}.`
const fixed = (v: number): string => String(Math.round(v * 100) / 100)

function levelsCharts (report: BenchReport): ReportCharts {
  const s = report.settings
  return {
    title: 'Outgrow level comparison',
    facts: [
      `Measured ${report.createdAt}: open model at a constant ${s.rate} req/s for ${s.durationSeconds} s after a ${s.warmupSeconds} s warm-up, ${s.users} users, ${s.products} products; latency from each request's intended send time.`,
      machineFact(report.machine),
      `Server emulation: ${report.levels[0]?.emulation ?? 'n/a'}.`,
    ],
    summary: {
      header: ['Level', 'Servers', 'Offered req/s', 'Achieved req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'Failures', 'Primary q/s', 'Replica q/s', 'Cache hit ratio'],
      rows: report.levels.map((l) => [
        `L${l.level}`, describeServers(l.topology), fixed(l.load.offeredRate), fixed(l.load.achievedRate), fixed(l.load.latency.p50Ms), fixed(l.load.latency.p99Ms), fixed(l.load.latency.p999Ms),
        String(l.load.completed - l.load.answered), String(l.server.primaryQueriesPerSecond), String(l.server.replicaQueriesPerSecond), l.server.cacheHitRatio === null ? '—' : fixed(l.server.cacheHitRatio),
      ]),
    },
    figures: runFigures(report.levels.map((l) => ({ label: `L${l.level}`, load: l.load, server: l.server, timeline: l.timeline }))),
  }
}

function capacityCharts (report: CapacityReport): ReportCharts {
  const all = [...report.levels, ...report.scaleOut]
  return {
    title: 'Outgrow capacity per level',
    facts: [
      `Measured ${report.createdAt} by \`${report.command}\`.`,
      machineFact(report.machine),
      `Capacity: the highest offered rate with p99 ≤ ${report.settings.steps.slo.p99Ms} ms and failures under ${report.settings.steps.slo.errorRatio * 100} %, searched ${report.settings.repeats} time(s) per target on fresh stacks.`,
    ],
    summary: {
      header: ['Target', 'Servers', 'Capacity req/s, median (min–max)', 'Per 1 000 calibration ops/s', 'Limited by (at the knee)'],
      rows: all.map((t) => [
        t.label, describeServers(t.topology), `${t.capacity.median} (${t.capacity.min}–${t.capacity.max})`, `${t.perCalibration.median} (${t.perCalibration.min}–${t.perCalibration.max})`, t.knee?.verdict ?? '—',
      ]),
    },
    figures: capacityFigures(report),
  }
}

function scenarioCharts (report: ScenarioReport): ReportCharts {
  return {
    title: 'Outgrow autoscaling scenarios',
    facts: [
      `Measured ${report.createdAt} by \`${report.command}\`.`,
      machineFact(report.machine),
      `Server emulation: ${report.emulation}. Scaling on ${report.settings.metric.kind} (target ${report.settings.metric.target}), ${report.settings.min}–${report.settings.max} instances, objective p99 ≤ ${report.settings.slo.p99Ms} ms.`,
    ],
    summary: {
      header: ['Scenario', 'Contender', 'Seconds over the objective', 'Instance-seconds / ideal', 'p99 ms', 'Failed', 'Scale events'],
      rows: report.scenarios.flatMap((s) => s.contenders.map((c) => [s.shape.name, c.contender, String(c.sloViolationSeconds), fixed(c.costRatio), fixed(c.p99Ms), String(c.failed), String(c.scaleEvents)])),
    },
    figures: scenarioFigures(report),
  }
}

function shopMixCharts (report: ShopMixReport): ReportCharts {
  const s = report.shop.settings
  const label = (m: ShopMixReport['shop']['measurements'][number]): string => `L${m.level} ${m.mix}`
  return {
    title: 'Outgrow cache: the shop at a fixed rate, level by level',
    facts: [
      `Open model at ${s.rate} req/s for ${s.durationSeconds} s, ${s.users} users, ${s.products} products; latency from each request's intended send time.`,
      machineFact(report.machine),
      `Server emulation: ${s.emulation}.`,
    ],
    summary: {
      header: ['Level and mix', 'Offered req/s', 'Achieved req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'Primary q/s', 'Cache hit ratio'],
      rows: report.shop.measurements.map((m) => [
        label(m), fixed(m.load.offeredRate), fixed(m.load.achievedRate), fixed(m.load.latency.p50Ms), fixed(m.load.latency.p99Ms), fixed(m.load.latency.p999Ms),
        String(m.server.primaryQueriesPerSecond), m.server.cacheHitRatio === null ? '—' : fixed(m.server.cacheHitRatio),
      ]),
    },
    figures: runFigures(report.shop.measurements.map((m) => ({ label: label(m), load: m.load, server: m.server }))),
  }
}

export function reportCharts (charted: ChartedReport): ReportCharts {
  switch (charted.kind) {
    case 'levels': return levelsCharts(charted.report)
    case 'capacity': return capacityCharts(charted.report)
    case 'scenarios': return scenarioCharts(charted.report)
    case 'shop-mix': return shopMixCharts(charted.report)
  }
}
