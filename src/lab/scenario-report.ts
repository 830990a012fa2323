import type { ScalingMetric } from './contenders.js'
import type { MachineDescription } from './machine.js'
import type { ContenderMeasures, ScenarioResult } from './scenario-results.js'
import type { Slo } from './scenario-metrics.js'
import { checkTargets } from './scenario-targets.js'

export interface ScenarioReportSettings {
  readonly metric: ScalingMetric
  readonly min: number
  readonly max: number
  readonly slo: Slo
  readonly cpusPerServer: number
  readonly appCpus?: number | undefined
  readonly products: number
  readonly users: number
  readonly connections: number
  readonly warmupSeconds: number
}

export interface ScenarioReport {
  readonly createdAt: string
  readonly command: string
  readonly machine: MachineDescription
  readonly emulation: string
  readonly settings: ScenarioReportSettings
  readonly scenarios: readonly ScenarioResult[]
}

const seconds = (v: number | null): string => v === null ? 'not reached' : `${v} s`

function lagCell (c: ContenderMeasures, direction: 'up' | 'down'): string {
  const lags = c.lags.filter((l) => l.direction === direction)
  return lags.length === 0 ? '—' : lags.map((l) => seconds(l.seconds)).join(', ')
}

/** The comparison table of one scenario: one row per contender. */
export function scenarioTable (result: ScenarioResult): string {
  const header = '| Contender | Capacity reached after a rise | Surplus gone after a fall | SLO-violation s | Instance-s (ideal) | Cost × ideal | Direction changes (load changes) | Scale events | p99 ms | Failed |\n' +
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
  const rows = result.contenders.map((c) =>
    `| ${c.contender} | ${lagCell(c, 'up')} | ${lagCell(c, 'down')} | ${c.sloViolationSeconds} | ${c.instanceSeconds} (${c.idealInstanceSeconds}) | ${c.costRatio} | ${c.directionChanges} (${c.loadChanges}) | ${c.scaleEvents} | ${c.p99Ms.toFixed(1)} | ${c.failed} |`)
  return [header, ...rows].join('\n')
}

/** Instances every `step` seconds, as one line of digits per fleet. */
function timeline (result: ScenarioResult, step = 5): string {
  const every = (series: readonly number[]): string => series.filter((_, i) => i % step === 0).join(' ')
  const width = Math.max(...result.contenders.map((c) => c.contender.length), 'ideal'.length)
  return [
    `${'ideal'.padEnd(width)}  ${every(result.ideal)}`,
    ...result.contenders.map((c) => `${c.contender.padEnd(width)}  ${every(c.running)}`),
  ].join('\n')
}

function calibrationLine (result: ScenarioResult, metric: ScalingMetric): string {
  const c = result.calibration
  const capacity = c.capacityPerInstance.toFixed(1)
  if ('given' in c) return `Capacity per instance: ${capacity} req/s at ${metric.kind} ${metric.target} (given with --capacity).`
  const how = c.method === 'near-target'
    ? `the median of rate × target / ${metric.kind} over the ${c.points} readings of the three runs between half the target and 0.95`
    : `a line through ${c.points} unsaturated readings of the three runs, solved for the target`
  return `Capacity per instance: **${capacity} req/s** at ${metric.kind} ${metric.target} (${how}).`
}

function scenarioSection (result: ScenarioResult, settings: ScenarioReportSettings): string {
  const peakIdeal = Math.max(...result.ideal)
  const checks = checkTargets(result)
  return `## ${result.shape.name}

Load: ${result.shape.description} (${result.shape.durationSeconds} s; load changes at ${result.shape.changes.map((c) => `${c.at} s ${c.direction}`).join(', ')}).
${calibrationLine(result, settings.metric)} Ideal fleet: ${Math.min(...result.ideal)} to ${peakIdeal} instances.

${scenarioTable(result)}

Running app instances at 0 s, 5 s, 10 s, …:

\`\`\`
${timeline(result)}
\`\`\`

Instances when the trace started: ${result.contenders.map((c) => `${c.contender} ${c.instancesAtStart}`).join(', ')}.
Load average (1 min) at the start and end of each trace: ${result.contenders.map((c) => `${c.contender} ${c.loadAverage[0]} → ${c.loadAverage[1]}`).join('; ')}.
Generator send lag p99: ${result.contenders.map((c) => `${c.contender} ${c.sendLagP99Ms} ms`).join(', ')}.

Targets for Outgrow's defaults:

${checks.map((t) => `- ${t.met ? 'met' : '**missed**'}: ${t.target} — ${t.value}`).join('\n')}
`
}

export function renderScenarioMarkdown (report: ScenarioReport): string {
  const { machine, settings } = report
  return `# Autoscaling scenarios

Measured ${report.createdAt} by \`${report.command}\`.

**Machine:** ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}.
The load generator and every process of the stack share these cores; other work on the machine shows in the load averages below.

**Server emulation:** ${report.emulation}; ${settings.appCpus === undefined ? `${settings.cpusPerServer} core per server` : `${settings.appCpus} core per app instance's server, ${settings.cpusPerServer} for every other server`}.

**Stack:** level 4 (gateway, app instances, PostgreSQL primary and a streaming replica, Redis, a job worker), ${settings.products} products;
the app autoscales between ${settings.min} and ${settings.max} instances on \`${settings.metric.kind}\` with target ${settings.metric.target}.
Every contender runs on a fresh stack, warmed up for ${settings.warmupSeconds} s at the trace's starting rate with the app held at its starting count;
autoscaling is switched on as the trace starts, so every fleet starts alike, and the trace is the same for all.

**Load:** open model, latency from each request's intended send time; ${settings.users} logged-in users, the shop's mix, up to ${settings.connections} connections.

**Contenders:**
- \`outgrow\`: the autoscaler with Outgrow's defaults — a 2 s sync period and a spec without \`behavior\` (Kubernetes' scale-up policies, scale-down window 20 s).
- \`hpa-default\`: the same algorithm with Kubernetes' defaults — 15 s sync period, \`behavior: 'kubernetes'\` (scale-down window 300 s).
- \`fixed-max\`: ${settings.max} instances throughout.

**Measures:** the ideal fleet each second is ceil(planned rate / capacity per instance), within [${settings.min}, ${settings.max}];
*capacity reached* is the time from the second the load first needs its peak instance count until that many are ready
(before the load changes again); *surplus gone* the time from the second the load needs its fewest until no more run;
an *SLO-violation second* is one whose requests had a p99 above ${settings.slo.p99Ms} ms or more than ${settings.slo.errorRatio * 100} % failures;
*instance-seconds* count running instances (starting ones included) each second; *direction changes* count every time the
instance count starts moving in a new direction (a step up and back down is 2).

${report.scenarios.map((s) => scenarioSection(s, settings)).join('\n')}`
}
