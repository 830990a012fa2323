import uPlot from 'uplot'
import type { DashboardSample } from '../sample.js'
import type { ChartDef, ChartSelection } from './chart-defs.js'
import { el, setAttr } from './dom.js'
import { clock, rate } from './format.js'
import type { Mark, MarkKind } from './store.js'

const PALETTE = ['#2457c5', '#d9480f', '#2b8a3e', '#862e9c', '#c2255c', '#0b7285', '#e67700', '#5f3dc4', '#495057', '#a61e4d']
const MARK_COLORS: Record<MarkKind, string> = { event: '#8c96a5', autoscale: '#2457c5', failure: '#b3261e' }
const HEIGHT = 170

/** Draws the event log's and the autoscaler's moments as dashed vertical lines on a chart. */
function markersPlugin (marks: () => readonly Mark[]): uPlot.Plugin {
  return {
    hooks: {
      draw: [(u) => {
        const { left, top, width, height } = u.bbox
        const ctx = u.ctx
        ctx.save()
        ctx.lineWidth = Math.max(1, devicePixelRatio)
        ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio])
        for (const mark of marks()) {
          const x = Math.round(u.valToPos(mark.t / 1000, 'x', true))
          if (x < left || x > left + width) continue
          ctx.strokeStyle = MARK_COLORS[mark.kind]
          ctx.beginPath()
          ctx.moveTo(x, top)
          ctx.lineTo(x, top + height)
          ctx.stroke()
        }
        ctx.restore()
      }],
    },
  }
}

const fromZero: uPlot.Range.Function = (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1]

/**
 * One uPlot chart of a ChartDef: built again when its series change, otherwise only given new
 * data. All charts share the cursor (sync key) and the time window, so a moment lines up across them.
 */
export class Chart {
  readonly #def: ChartDef
  readonly #box: HTMLElement
  readonly #plotBox: HTMLElement
  readonly #marks: () => readonly Mark[]
  #plot: uPlot | undefined
  #key = ''

  constructor (def: ChartDef, parent: HTMLElement, marks: () => readonly Mark[]) {
    this.#def = def
    this.#marks = marks
    this.#box = el('figure', { class: 'chart', id: `chart-${def.id}`, 'data-points': '0' })
    this.#box.style.margin = '0'
    this.#plotBox = el('div')
    this.#box.append(el('h3', {}, def.title), this.#plotBox)
    parent.append(this.#box)
  }

  update (samples: readonly DashboardSample[], window: readonly [number, number]): void {
    const selected = this.#def.select(samples)
    const xs = samples.map((s) => s.t / 1000)
    const columns: Array<Array<number | null>> = selected.series.map(() => [])
    for (const sample of samples) {
      const values = selected.point(sample)
      for (let i = 0; i < columns.length; i++) columns[i]?.push(values[i] ?? null)
    }
    const data: uPlot.AlignedData = [xs, ...columns]
    if (this.#plot === undefined || selected.key !== this.#key) {
      this.#plot?.destroy()
      this.#key = selected.key
      this.#plot = new uPlot(this.#options(selected), data, this.#plotBox)
    } else {
      this.#plot.setData(data, false)
    }
    this.#plot.setScale('x', { min: window[0], max: window[1] })
    // Away from the cursor, the legend tells the latest values.
    if ((this.#plot.cursor.left ?? -1) < 0 && xs.length > 0) this.#plot.setLegend({ idx: xs.length - 1 }, false)
    setAttr(this.#box, 'data-points', xs.length)
  }

  /** Markers changed without new data. */
  redraw (): void {
    this.#plot?.redraw(false)
  }

  resize (): void {
    this.#plot?.setSize({ width: this.#width(), height: HEIGHT })
  }

  #width (): number {
    return Math.max(280, this.#box.clientWidth)
  }

  #options (selected: ChartSelection): uPlot.Options {
    const def = this.#def
    // Wall-clock time on one line: the default puts the date under every label.
    const axes: uPlot.Axis[] = [{ space: 80, values: (_u, splits) => splits.map((s) => clock(s * 1000)) }, { scale: 'y', label: def.y, size: 56, labelSize: 16 }]
    const scales: uPlot.Scales = { x: { time: true }, y: { range: fromZero } }
    if (def.y2 !== undefined) {
      axes.push({ scale: 'y2', label: def.y2, side: 1, size: 56, labelSize: 16, grid: { show: false } })
      scales.y2 = { range: fromZero }
    }
    return {
      width: this.#width(),
      height: HEIGHT,
      scales,
      axes,
      series: [{ value: (_u: uPlot, v: number | null) => v === null ? '–' : clock(v * 1000) }, ...selected.series.map((s, i) => ({
        label: s.label,
        scale: s.scale,
        stroke: PALETTE[i % PALETTE.length],
        width: 1.5,
        spanGaps: false,
        value: (_u: uPlot, v: number | null) => rate(v),
      }))],
      cursor: { sync: { key: 'dashboard' } },
      plugins: [markersPlugin(this.#marks)],
    }
  }
}
