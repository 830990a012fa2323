/**
 * What a report chart shows, as plain data: the report builders produce figures, and
 * `vega-specs.ts` turns each kind into a Vega-Lite specification. Keeping figures data-only
 * lets tests check what is plotted without rendering.
 */

export interface XY {
  readonly x: number
  readonly y: number
}

export interface LineSeries {
  /** Legend entry by colour, e.g. `L4` or `server-2`. */
  readonly name: string
  /** Legend entry by dash pattern, e.g. `p50` and `p99` of the same level. */
  readonly style?: string | undefined
  readonly points: readonly XY[]
}

interface FigureBase {
  /** File-name stem of the figure's `.svg`: lower case, digits and dashes. */
  readonly name: string
  readonly title: string
  /** One sentence under the chart: how to read it. */
  readonly caption?: string | undefined
}

/** Lines over a numeric x axis: time series, or a measure against offered rate. */
export interface LinesFigure extends FigureBase {
  readonly kind: 'lines'
  readonly xTitle: string
  readonly yTitle: string
  readonly series: readonly LineSeries[]
  readonly yLog?: boolean | undefined
  /** Draw each point as well as the line (few points, e.g. search steps). */
  readonly points?: boolean | undefined
  /** A fixed top of the y axis, e.g. 1 for a ratio. */
  readonly yMax?: number | undefined
  /** Horizontal reference lines, e.g. the latency objective. */
  readonly rules?: ReadonlyArray<{ readonly y: number, readonly label: string }> | undefined
}

/** Latency by percentile on the HdrHistogram scale: x is 1/(1−p), so 99 % and 99.9 % get equal room. */
export interface PercentilesFigure extends FigureBase {
  readonly kind: 'percentiles'
  readonly series: ReadonlyArray<{ readonly name: string, readonly points: ReadonlyArray<{ readonly percentile: number, readonly ms: number }> }>
}

/** One bar per label with its min–max range, e.g. the capacity of each level over repeated runs. */
export interface RangeBarsFigure extends FigureBase {
  readonly kind: 'range-bars'
  readonly yTitle: string
  readonly bars: ReadonlyArray<{ readonly label: string, readonly value: number, readonly min: number, readonly max: number }>
}

/** Bars grouped by label, one colour per series, e.g. primary and replica queries per level. */
export interface GroupedBarsFigure extends FigureBase {
  readonly kind: 'grouped-bars'
  readonly yTitle: string
  readonly yMax?: number | undefined
  readonly bars: ReadonlyArray<{ readonly group: string, readonly series: string, readonly value: number }>
}

export type Figure = LinesFigure | PercentilesFigure | RangeBarsFigure | GroupedBarsFigure

/** A figure with its rendered SVG. */
export interface RenderedFigure {
  readonly figure: Figure
  readonly svg: string
}
