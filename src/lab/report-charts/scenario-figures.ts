import type { Figure, LineSeries } from '../charts/figure.js'
import type { ScenarioReport } from '../scenario-report.js'

// Reports written before a series was recorded lack it (p99 and failures per second came later).
const series = (name: string, values: readonly number[] | undefined, style?: string): LineSeries => ({ name, style, points: (values ?? []).map((y, x) => ({ x, y })) })
const hasPoints = (figure: Figure): boolean => figure.kind !== 'lines' || figure.series.some((s) => s.points.length > 0)

/** The charts of autoscaling scenarios: load, instances against the ideal, and p99 per second, per scenario. */
export function scenarioFigures (report: ScenarioReport): Figure[] {
  return report.scenarios.flatMap((s): Figure[] => {
    const prefix = s.shape.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')
    const figures: Figure[] = [
      { kind: 'lines', name: `${prefix}-offered-rate`, title: `${s.shape.name}: offered rate`, xTitle: 'seconds', yTitle: 'requests per second', series: [series('offered', s.rate)], caption: s.shape.description },
      {
        kind: 'lines', name: `${prefix}-instances`, title: `${s.shape.name}: running app instances against the ideal`, xTitle: 'seconds', yTitle: 'instances',
        series: [series('ideal', s.ideal), ...s.contenders.map((c) => series(c.contender, c.running))],
      },
      {
        kind: 'lines', name: `${prefix}-p99`, title: `${s.shape.name}: p99 of the requests due each second`, xTitle: 'seconds', yTitle: 'p99 ms', yLog: true,
        series: s.contenders.map((c) => series(c.contender, c.p99PerSecond)), rules: [{ y: report.settings.slo.p99Ms, label: `objective ${report.settings.slo.p99Ms} ms` }],
      },
      { kind: 'lines', name: `${prefix}-failures`, title: `${s.shape.name}: failed requests per second`, xTitle: 'seconds', yTitle: 'failures', series: s.contenders.map((c) => series(c.contender, c.failedPerSecond)) },
    ]
    return figures.filter(hasPoints)
  })
}
