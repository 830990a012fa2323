import type { TopLevelSpec } from 'vega-lite'
import type { Figure, GroupedBarsFigure, LinesFigure, PercentilesFigure, RangeBarsFigure } from './figure.js'

const WIDTH = 560
const HEIGHT = 240

/** Axis positions of the percentile chart: 1/(1−p) for p = 50 %, 90 %, 99 %, 99.9 %, 99.99 %, 99.999 %. */
const PERCENTILE_TICKS = [2, 10, 100, 1000, 10_000, 100_000]
const PERCENTILE_LABELS = "datum.value <= 2 ? '50%' : datum.value <= 10 ? '90%' : datum.value <= 100 ? '99%' : datum.value <= 1000 ? '99.9%' : datum.value <= 10000 ? '99.99%' : '99.999%'"

const config = {
  background: 'white',
  font: 'sans-serif',
  title: { fontSize: 14, anchor: 'start' as const },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 11, labelLimit: 260 },
  view: { stroke: null },
}

function base (figure: Figure): { width: number, height: number, title: string, config: typeof config } {
  return { width: WIDTH, height: HEIGHT, title: figure.title, config }
}

function linesSpec (f: LinesFigure): TopLevelSpec {
  const values = f.series.flatMap((s) => s.points
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (f.yLog !== true || p.y > 0))
    .map((p) => ({ series: s.name, style: s.style ?? s.name, x: p.x, y: p.y })))
  const styled = f.series.some((s) => s.style !== undefined)
  // Headroom above the highest point, so a line along the maximum is not hidden by the frame.
  const top = Math.max(0, ...values.map((v) => v.y), ...(f.rules ?? []).map((r) => r.y))
  const yScale = f.yLog === true ? { type: 'log' as const } : f.yMax !== undefined ? { domain: [0, f.yMax] } : { zero: true, nice: true, ...(top > 0 ? { domainMax: top * 1.08 } : {}) }
  const line = {
    data: { values },
    mark: { type: 'line' as const, point: f.points === true, strokeWidth: 1.5, clip: true },
    encoding: {
      x: { field: 'x', type: 'quantitative' as const, title: f.xTitle, scale: { zero: false } },
      y: { field: 'y', type: 'quantitative' as const, title: f.yTitle, scale: yScale },
      color: { field: 'series', type: 'nominal' as const, title: null, sort: f.series.map((s) => s.name) },
      ...(styled ? { strokeDash: { field: 'style', type: 'nominal' as const, title: null } } : {}),
      detail: { field: 'style', type: 'nominal' as const },
    },
  }
  const rules = (f.rules ?? []).map((r) => ({
    data: { values: [r] },
    layer: [
      { mark: { type: 'rule' as const, color: '#c0392b', strokeDash: [4, 3] }, encoding: { y: { field: 'y', type: 'quantitative' as const } } },
      { mark: { type: 'text' as const, color: '#c0392b', align: 'left' as const, dx: 4, dy: -6, x: 0 }, encoding: { y: { field: 'y', type: 'quantitative' as const }, text: { field: 'label', type: 'nominal' as const } } },
    ],
  }))
  return { ...base(f), layer: [line, ...rules] }
}

function percentilesSpec (f: PercentilesFigure): TopLevelSpec {
  // 100 % has no place on a 1/(1−p) axis: the maximum is plotted at 99.999 % at most.
  const values = f.series.flatMap((s) => s.points.map((p) => ({ series: s.name, x: 1 / (1 - Math.min(p.percentile, 99.999) / 100), ms: p.ms, percentile: p.percentile })))
  return {
    ...base(f),
    data: { values },
    mark: { type: 'line', point: true, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: 'percentile', scale: { type: 'log', domain: [1, 100_000] }, axis: { values: PERCENTILE_TICKS, labelExpr: PERCENTILE_LABELS, grid: true } },
      y: { field: 'ms', type: 'quantitative', title: 'latency ms (from intended send time)' },
      color: { field: 'series', type: 'nominal', title: null, sort: f.series.map((s) => s.name) },
    },
  }
}

function rangeBarsSpec (f: RangeBarsFigure): TopLevelSpec {
  const values = f.bars.map((b) => ({ ...b }))
  const x = { field: 'label', type: 'nominal' as const, title: null, sort: f.bars.map((b) => b.label), axis: { labelAngle: 0 } }
  return {
    ...base(f),
    data: { values },
    layer: [
      { mark: { type: 'bar', color: '#4c78a8', opacity: 0.85 }, encoding: { x, y: { field: 'value', type: 'quantitative', title: f.yTitle } } },
      { mark: { type: 'rule', color: '#222', strokeWidth: 1.5 }, encoding: { x, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
      { mark: { type: 'tick', color: '#222', thickness: 1.5, size: 14 }, encoding: { x, y: { field: 'min', type: 'quantitative' } } },
      { mark: { type: 'tick', color: '#222', thickness: 1.5, size: 14 }, encoding: { x, y: { field: 'max', type: 'quantitative' } } },
      { mark: { type: 'text', dy: -8, dx: 18, align: 'left', fontSize: 11 }, encoding: { x, y: { field: 'value', type: 'quantitative' }, text: { field: 'value', type: 'quantitative' } } },
    ],
  }
}

function groupedBarsSpec (f: GroupedBarsFigure): TopLevelSpec {
  const groups = [...new Set(f.bars.map((b) => b.group))]
  const series = [...new Set(f.bars.map((b) => b.series))]
  // One bar per group (each label its own bar, coloured by series): no empty slots beside it.
  const single = groups.length === f.bars.length
  return {
    ...base(f),
    data: { values: f.bars.map((b) => ({ ...b })) },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'group', type: 'nominal', title: null, sort: groups, axis: { labelAngle: groups.length > 8 ? -40 : 0 } },
      ...(single ? {} : { xOffset: { field: 'series', type: 'nominal' as const, sort: series } }),
      y: { field: 'value', type: 'quantitative', title: f.yTitle, ...(f.yMax === undefined ? {} : { scale: { domain: [0, f.yMax] } }) },
      color: { field: 'series', type: 'nominal', title: null, sort: series },
    },
  }
}

/** The Vega-Lite specification of a figure; data inline, so rendering never loads anything. */
export function vegaLiteSpec (figure: Figure): TopLevelSpec {
  switch (figure.kind) {
    case 'lines': return linesSpec(figure)
    case 'percentiles': return percentilesSpec(figure)
    case 'range-bars': return rangeBarsSpec(figure)
    case 'grouped-bars': return groupedBarsSpec(figure)
  }
}
