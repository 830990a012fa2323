import type { Figure, LineSeries, XY } from '../charts/figure.js'
import type { OpenLoopResult } from '../open-loop.js'
import type { LevelResult } from '../report.js'

/** A measured run to chart: a level of `bench --levels --rate`, or the stack of `bench --url`. */
export type ChartedRun = Pick<LevelResult, 'load' | 'server' | 'timeline'> & { readonly label: string }

/** The run's percentile points, or, in reports written before they were recorded, the summary's. */
export function percentilePoints (load: OpenLoopResult): Array<{ percentile: number, ms: number }> {
  if (load.percentiles !== undefined && load.percentiles.length > 0) return [...load.percentiles]
  const l = load.latency
  return [{ percentile: 50, ms: l.p50Ms }, { percentile: 90, ms: l.p90Ms }, { percentile: 99, ms: l.p99Ms }, { percentile: 99.9, ms: l.p999Ms }, { percentile: 100, ms: l.maxMs }]
}

function perSecond (run: ChartedRun, value: (s: NonNullable<OpenLoopResult['seconds']>[number]) => number | undefined): XY[] {
  return (run.load.seconds ?? []).flatMap((s) => {
    const y = value(s)
    return y === undefined ? [] : [{ x: s.second, y }]
  })
}

function timeFigures (runs: readonly ChartedRun[]): Figure[] {
  if (!runs.some((r) => (r.load.seconds ?? []).length > 0)) return []
  const latency: LineSeries[] = runs.flatMap((r) => [
    { name: r.label, style: 'p50', points: perSecond(r, (s) => s.p50Ms) },
    { name: r.label, style: 'p99', points: perSecond(r, (s) => s.p99Ms) },
  ])
  const rate: LineSeries[] = runs.flatMap((r) => [
    { name: r.label, style: 'offered', points: perSecond(r, (s) => s.offered) },
    { name: r.label, style: 'achieved', points: perSecond(r, (s) => s.achieved) },
  ])
  return [
    {
      kind: 'lines', name: 'latency-over-time', title: 'Latency over time (p50 and p99 of the requests due each second)', xTitle: 'seconds into the measured run', yTitle: 'latency ms', yLog: true, series: latency,
      caption: 'Latency counts from each request\'s intended send time, so a stall shows as a climb, not as a gap.',
    },
    { kind: 'lines', name: 'rate-over-time', title: 'Achieved vs offered rate over time', xTitle: 'seconds into the measured run', yTitle: 'requests per second', series: rate, caption: 'Offered: requests due each second. Achieved: answers (2xx–4xx) that arrived in it.' },
  ]
}

function timelineFigures (runs: readonly ChartedRun[]): Figure[] {
  const withTimeline = runs.filter((r) => (r.timeline ?? []).length > 0)
  if (withTimeline.length === 0) return []
  const several = withTimeline.length > 1
  const cpu: LineSeries[] = withTimeline.flatMap((r) => {
    const servers = [...new Set((r.timeline ?? []).flatMap((t) => Object.keys(t.cpu)))].sort()
    return servers.map((server) => ({
      name: several ? `${r.label} ${server}` : server,
      points: (r.timeline ?? []).flatMap((t) => t.cpu[server] === undefined ? [] : [{ x: t.second, y: Math.round((t.cpu[server]) * 1000) / 10 }]),
    }))
  })
  const queries: LineSeries[] = withTimeline.flatMap((r) => [
    { name: r.label, style: 'primary', points: (r.timeline ?? []).map((t) => ({ x: t.second, y: t.primaryQueriesPerSecond })) },
    { name: r.label, style: 'replica', points: (r.timeline ?? []).map((t) => ({ x: t.second, y: t.replicaQueriesPerSecond })) },
  ])
  const hits: LineSeries[] = withTimeline.map((r) => ({ name: r.label, points: (r.timeline ?? []).flatMap((t) => t.cacheHitRatio === null ? [] : [{ x: t.second, y: t.cacheHitRatio }]) }))
  const figures: Figure[] = []
  if (cpu.some((s) => s.points.length > 0)) {
    figures.push({ kind: 'lines', name: 'server-cpu-over-time', title: 'CPU of each emulated server, share of its quota', xTitle: 'seconds into the measured run', yTitle: '% of quota', series: cpu, rules: [{ y: 100, label: 'quota' }] })
  }
  figures.push({ kind: 'lines', name: 'queries-over-time', title: 'Database queries per second, primary and replicas', xTitle: 'seconds into the measured run', yTitle: 'queries per second', series: queries })
  if (hits.some((s) => s.points.length > 0)) figures.push({ kind: 'lines', name: 'cache-hit-ratio-over-time', title: 'Cache hit ratio over time', xTitle: 'seconds into the measured run', yTitle: 'hits / look-ups', yMax: 1, series: hits })
  return figures
}

/** The charts of fixed-rate runs: over time, the percentile distribution, and the server counters side by side. */
export function runFigures (runs: readonly ChartedRun[]): Figure[] {
  const figures: Figure[] = [...timeFigures(runs)]
  figures.push({
    kind: 'percentiles', name: 'latency-percentiles', title: 'Latency by percentile',
    series: runs.map((r) => ({ name: r.label, points: percentilePoints(r.load) })),
    caption: 'The x axis is 1/(1−p): each step to the right is ten times rarer (the HdrHistogram plot).',
  })
  figures.push(...timelineFigures(runs))
  if (runs.length > 1) {
    figures.push({
      kind: 'grouped-bars', name: 'latency-per-level', title: 'Latency per level', yTitle: 'latency ms',
      bars: runs.flatMap((r) => [['p50', r.load.latency.p50Ms], ['p90', r.load.latency.p90Ms], ['p99', r.load.latency.p99Ms]].map(([series, value]) => ({ group: r.label, series: series as string, value: value as number }))),
    })
  }
  figures.push({
    kind: 'grouped-bars', name: 'queries-per-level', title: 'Database queries per second over the run', yTitle: 'queries per second',
    bars: runs.flatMap((r) => [{ group: r.label, series: 'primary', value: r.server.primaryQueriesPerSecond }, { group: r.label, series: 'replica', value: r.server.replicaQueriesPerSecond }]),
  })
  const hitRuns = runs.filter((r) => r.server.cacheHitRatio !== null)
  if (hitRuns.length > 0) {
    figures.push({ kind: 'grouped-bars', name: 'cache-hit-ratio', title: 'Cache hit ratio over the run', yTitle: 'hits / look-ups', yMax: 1, bars: hitRuns.map((r) => ({ group: r.label, series: 'hit ratio', value: r.server.cacheHitRatio as number })) })
  }
  return figures
}
