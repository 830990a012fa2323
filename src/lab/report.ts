import type { Topology } from '../config/levels.js'
import type { CounterSample } from './counter-timeline.js'
import type { MachineDescription } from './machine.js'
import type { OpenLoopResult } from './open-loop.js'
import type { ServerRates } from './server-stats.js'

export interface LevelResult {
  readonly level: number
  readonly topology: Topology
  readonly emulation: string
  readonly load: OpenLoopResult
  readonly server: ServerRates
  /** The server counters every few seconds of the measured run (reports since charts). */
  readonly timeline?: readonly CounterSample[]
}

export interface BenchSettings {
  readonly rate: number
  readonly durationSeconds: number
  readonly warmupSeconds: number
  readonly users: number
  readonly connections: number
  readonly products: number
  readonly cpusPerServer: number
}

export interface BenchReport {
  readonly createdAt: string
  readonly machine: MachineDescription
  readonly settings: BenchSettings
  readonly levels: readonly LevelResult[]
}

/** The servers of a topology in a few words, for report tables. */
export function describeServers (t: Topology): string {
  const parts = [
    t.colocateDb ? 'app+db on one server' : `${t.instances} app`,
    ...(t.colocateDb ? [] : ['db primary']),
    ...(t.replicas > 0 ? [`${t.replicas} replica`] : []),
    ...(t.redis ? [t.redisFailover ? 'redis + replica + 3 sentinels' : 'redis'] : []),
    ...(t.workers > 0 ? [`${t.workers} worker`] : []),
    ...(t.gateway ? ['gateway'] : []),
  ]
  return parts.join(', ')
}

const ms = (v: number): string => v.toFixed(v < 10 ? 2 : 1)

function errorSummary (r: OpenLoopResult): string {
  const entries = Object.entries(r.errorsByKind).sort((a, b) => b[1] - a[1])
  return entries.length === 0 ? '0' : entries.map(([k, v]) => `${k}×${v}`).join(' ')
}

/** The comparison table that README and docs/benchmarks show. */
export function levelsTable (levels: readonly LevelResult[]): string {
  const header = '| Level | Servers | Offered req/s | Achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | Errors | Primary q/s | Replica q/s | Cache hit ratio |\n' +
    '|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|'
  const rows = levels.map((l) =>
    `| L${l.level} | ${describeServers(l.topology)} | ${l.load.offeredRate} | ${l.load.achievedRate} | ${ms(l.load.latency.p50Ms)} | ${ms(l.load.latency.p90Ms)} | ${ms(l.load.latency.p99Ms)} | ${ms(l.load.latency.p999Ms)} | ${errorSummary(l.load)} | ${l.server.primaryQueriesPerSecond} | ${l.server.replicaQueriesPerSecond} | ${l.server.cacheHitRatio === null ? '—' : l.server.cacheHitRatio.toFixed(3)} |`)
  return [header, ...rows].join('\n')
}

export function renderMarkdown (report: BenchReport): string {
  const { machine, settings } = report
  const actions = [...new Set(report.levels.flatMap((l) => Object.keys(l.load.byAction)))].sort()
  const perAction = [
    `| Action | ${report.levels.map((l) => `L${l.level} p50 / p99 ms`).join(' | ')} |`,
    `|---|${report.levels.map(() => '---:').join('|')}|`,
    ...actions.map((a) => `| ${a} | ${report.levels.map((l) => {
      const s = l.load.byAction[a]
      return s === undefined ? '—' : `${ms(s.p50Ms)} / ${ms(s.p99Ms)}`
    }).join(' | ')} |`),
  ].join('\n')
  const spread = report.levels.map((l) => `- L${l.level}: ${Object.entries(l.server.requestsByInstance).map(([k, v]) => `${k} ${v}`).join(', ')}; receipts rendered by jobs: ${l.server.jobsCompleted}`).join('\n')
  return `# Outgrow level comparison

Measured ${report.createdAt} by \`outgrow bench --levels ${report.levels.map((l) => l.level).join(',')}\`.

**Machine:** ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}.
The load generator runs on the same machine, unconstrained, and competes with the stack for the same cores.

**Server emulation:** ${report.levels[0]?.emulation ?? 'n/a'}.

**Load:** open model at a constant ${settings.rate} req/s for ${settings.durationSeconds} s after a ${settings.warmupSeconds} s warm-up;
latency counted from each request's intended send time (no coordinated omission); ${settings.users} logged-in users,
shop mix (browse 25 %, product 35 %, search 10 %, add to cart 15 %, cart 5 %, checkout 5 %, history 5 %),
Zipf(1.0) product popularity over ${settings.products} products, up to ${settings.connections} connections.

${levelsTable(report.levels)}

Load generator send lag (how late it sent requests; large values mean the generator, not the stack, was the limit):
${report.levels.map((l) => `L${l.level} p99 ${ms(l.load.sendLag.p99Ms)} ms`).join(', ')}.

Achieved counts answers per second: 2xx and 4xx (a refused checkout is an answer), not 5xx, network errors or time-outs.
Errors: \`5xx\`/\`net:\`/\`timeout\` are failures; \`4xx:409\` are checkouts refused for stock or an emptied cart, \`4xx:400\` carts at their limit.
Queries per second are counted by the app instances (each statement, including BEGIN/COMMIT and the write-position read).

## Latency by action

${perAction}

## Requests per app instance

${spread}
`
}
