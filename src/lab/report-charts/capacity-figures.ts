import type { Figure, LineSeries } from '../charts/figure.js'
import type { CapacityReport, TargetCapacity } from '../capacity-levels.js'

function targets (report: CapacityReport): TargetCapacity[] {
  return [...report.levels, ...report.scaleOut]
}

function perStep (report: CapacityReport, value: (step: TargetCapacity['runs'][number]['steps'][number]) => number): LineSeries[] {
  return targets(report).flatMap((t) => t.runs.map((run, i) => ({
    name: t.label,
    style: `run ${i + 1}`,
    // Repeated steps at one rate (a narrow fail run again) keep the last: the one the search acted on.
    points: [...new Map(run.steps.map((s) => [s.rate, { x: s.rate, y: value(s) }])).values()],
  })))
}

/** The charts of a capacity search: capacity per target with its range, and each search's steps. */
export function capacityFigures (report: CapacityReport): Figure[] {
  const all = targets(report)
  const figures: Figure[] = [
    {
      kind: 'range-bars', name: 'capacity-per-level', title: 'Capacity per level (median of the runs, bar from min to max)', yTitle: 'requests per second',
      bars: all.map((t) => ({ label: t.label, value: t.capacity.median, min: t.capacity.min, max: t.capacity.max })),
      caption: `Highest offered rate with p99 ≤ ${report.settings.steps.slo.p99Ms} ms and failures under ${report.settings.steps.slo.errorRatio * 100} %.`,
    },
    {
      kind: 'lines', name: 'p99-vs-offered', title: 'p99 against offered rate, every step of every search', xTitle: 'offered requests per second', yTitle: 'p99 ms', yLog: true, points: true,
      series: perStep(report, (s) => s.p99Ms), rules: [{ y: report.settings.steps.slo.p99Ms, label: `objective ${report.settings.steps.slo.p99Ms} ms` }],
    },
    {
      kind: 'lines', name: 'achieved-vs-offered', title: 'Achieved against offered rate, every step', xTitle: 'offered requests per second', yTitle: 'achieved requests per second', points: true,
      series: perStep(report, (s) => s.achievedRate),
    },
    {
      kind: 'range-bars', name: 'capacity-per-calibration', title: 'Capacity per 1 000 calibration ops/s (the machine\'s speed taken out)', yTitle: 'req/s per 1 000 ops/s',
      bars: all.map((t) => ({ label: t.label, value: t.perCalibration.median, min: t.perCalibration.min, max: t.perCalibration.max })),
    },
  ]
  const knees = all.filter((t) => t.knee !== undefined)
  if (knees.length > 0) {
    figures.push({
      kind: 'grouped-bars', name: 'cpu-at-knee', title: 'CPU of each server at the knee, share of its quota', yTitle: '% of quota',
      // The four busiest servers of each target (the diagnosis lists them busiest first).
      bars: knees.flatMap((t) => (t.knee?.servers ?? []).slice(0, 4).map((s) => ({ group: `${t.label} ${s.server}`, series: t.label, value: Math.round(s.utilization * 1000) / 10 }))),
      caption: 'The four busiest servers of each target, measured on its last run one step just past its capacity.',
    })
  }
  return figures
}
