import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { loadStackConfig } from '../config/load.js'
import { CONTENDER_NAMES, contender, type ScalingMetric } from './contenders.js'
import { loadShape, type ShapeName, type ShapeSettings } from './load-shapes.js'
import { writeChartsBeside } from './report-charts/write-report.js'
import { describeMachine } from './machine.js'
import { renderScenarioMarkdown, type ScenarioReport } from './scenario-report.js'
import { scenarioResult, type ScenarioResult } from './scenario-results.js'
import { runContender, type ContenderRun, type ScenarioLoad } from './scenario-run.js'
import type { Slo } from './scenario-metrics.js'
import { checkTargets } from './scenario-targets.js'

export interface ScenarioBenchOptions {
  readonly configFile: string
  readonly scenarios: readonly ShapeName[]
  /** Overrides of every shape's defaults (base rate, durations). */
  readonly shape: Partial<ShapeSettings>
  readonly metric: ScalingMetric
  readonly min: number
  readonly max: number
  readonly slo: Slo
  readonly capacityPerInstance?: number | undefined
  readonly load: ScenarioLoad
  /** Config overrides: emulation, seed. */
  readonly overrides: Record<string, unknown>
  readonly appCpus?: number | undefined
  /** Report path without extension: `.md` and `.json` are written. */
  readonly out: string
  readonly command: string
  readonly log: (line: string) => void
}

/**
 * For each scenario, runs the three contenders one after the other, each on a fresh stack with
 * the same trace, measures them against one calibrated ideal, and writes the report (after every
 * scenario, so an interrupted run keeps what it measured).
 */
export async function benchScenarios (options: ScenarioBenchOptions): Promise<{ report: ScenarioReport, files: string[] }> {
  const loaded = await loadStackConfig(options.configFile, options.overrides)
  const contenders = CONTENDER_NAMES.map((name) => contender(name, options.metric, options.min, options.max))
  const scenarios: ScenarioResult[] = []
  let emulation = ''
  let report: ScenarioReport | undefined
  const files = [`${options.out}.md`, `${options.out}.json`]
  for (const name of options.scenarios) {
    const shape = loadShape(name, options.shape)
    const runs: ContenderRun[] = []
    for (const c of contenders) {
      const label = `${name}/${c.name}`
      options.log(`${label}: starting a fresh stack (${shape.description})`)
      const run = await runContender({ configFile: options.configFile, overrides: options.overrides, appCpus: options.appCpus, contender: c, metricKind: options.metric.kind, shape, load: options.load, label, log: options.log })
      emulation = run.emulation
      runs.push(run)
      options.log(`${label}: p99 ${run.latency.p99Ms} ms, ${run.scaleEvents.length} scale events`)
    }
    const result = scenarioResult(shape, contenders, runs, { min: options.min, max: options.max, metric: options.metric, slo: options.slo, capacityPerInstance: options.capacityPerInstance })
    scenarios.push(result)
    for (const check of checkTargets(result)) options.log(`${name}: ${check.met ? 'met' : 'MISSED'} ${check.target}: ${check.value}`)
    report = {
      createdAt: new Date().toISOString(),
      command: options.command,
      machine: describeMachine(),
      emulation,
      settings: {
        metric: options.metric, min: options.min, max: options.max, slo: options.slo, cpusPerServer: loaded.config.emulation.cpusPerServer, appCpus: options.appCpus,
        products: loaded.config.seed.products, users: options.load.users, connections: options.load.connections, warmupSeconds: options.load.warmupSeconds,
      },
      scenarios,
    }
    await mkdir(dirname(options.out), { recursive: true })
    await writeFile(files[0] as string, renderScenarioMarkdown(report))
    await writeFile(files[1] as string, compactJson(report))
    const html = await writeChartsBeside({ kind: 'scenarios', report }, files[0] as string)
    if (!files.includes(html)) files.push(html)
  }
  if (report === undefined) throw new Error('no scenario given')
  return { report, files }
}

/** Indented JSON with arrays of numbers on one line, so per-second series stay readable. */
export function compactJson (value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_, inner: string) => `[${inner.replace(/\s+/g, '')}]`) + '\n'
}
