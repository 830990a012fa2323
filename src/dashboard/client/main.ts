import type { DashboardSample } from '../sample.js'
import { Actions } from './actions.js'
import { chartDefs } from './chart-defs.js'
import { Chart } from './charts.js'
import { connect } from './connection.js'
import { DataPanels } from './data-panels.js'
import { byId, setText } from './dom.js'
import { InstancesTable } from './instances-table.js'
import { AutoscaleList, EventList } from './logs.js'
import { DashboardStore } from './store.js'
import { TopologyView } from './topology.js'

/**
 * The live dashboard's script: one store fed by the stream, drawn at most once per animation
 * frame (a burst of events costs one render), every view updating its elements in place.
 */
const store = new DashboardStore()
const actions = new Actions()
const topology = new TopologyView(byId('topology'))
const instances = new InstancesTable(byId<HTMLTableElement>('instances'), (name, button) => { actions.kill(name, button) })
const panels = new DataPanels()
const events = new EventList(byId<HTMLOListElement>('events'))
const autoscale = new AutoscaleList(byId<HTMLOListElement>('autoscaler'), byId('autoscaler-last'))
const chartsBox = byId('charts')
const charts = chartDefs().map((def) => new Chart(def, chartsBox, () => store.marks))
const summary = byId('stack-summary')
const topologySummary = byId('topology-summary')

let frame: number | undefined
let drawnSample: DashboardSample | undefined
let drawnMarks = -1

function schedule (): void {
  if (frame !== undefined) return
  frame = requestAnimationFrame(() => {
    frame = undefined
    render()
  })
}

/** Before the first sample, the hello's processes (executor state only) draw the picture. */
function initialSample (): DashboardSample | undefined {
  const processes = store.hello?.processes
  if (processes === undefined) return undefined
  return { t: Date.now(), processes, servers: [], instances: [], edges: [], database: [], cache: null, jobs: null, total: { requestsPerSecond: 0, errorsPerSecond: 0, p99Ms: null } }
}

function render (): void {
  const sample = store.latest() ?? (drawnSample === undefined ? initialSample() : drawnSample)
  if (sample === undefined) return
  if (sample !== drawnSample) {
    drawnSample = sample
    topology.render(sample)
    instances.render(sample)
    panels.render(sample)
    actions.observe(sample.processes)
    const apps = sample.processes.filter((p) => p.role === 'app')
    const healthy = apps.filter((p) => p.status === 'healthy').length
    setText(topologySummary, `${apps.length} app instances (${healthy} healthy), ${sample.processes.length} processes on ${new Set(sample.processes.map((p) => p.server)).size} servers.`)
    const hello = store.hello
    setText(summary, `${hello?.level === null || hello?.level === undefined ? 'custom stack' : `level ${hello.level}`} · ${hello?.url ?? ''}`)
    const first = store.samples[0]?.t ?? sample.t
    // The window spans at least a minute, so a young stack's lines do not stretch across the chart.
    const window = [Math.min(first, sample.t - 60_000) / 1000, sample.t / 1000] as const
    if (store.samples.length > 0) for (const chart of charts) chart.update(store.samples, window)
    drawnMarks = store.marksVersion
    document.body.dataset.samples = String(store.samples.length)
  } else if (store.marksVersion !== drawnMarks) {
    drawnMarks = store.marksVersion
    for (const chart of charts) chart.redraw()
  }
}

connect('/dashboard/stream', {
  hello: (hello) => {
    store.reset(hello)
    actions.reset(hello)
    events.reset(store.events)
    autoscale.reset(store.autoscale)
    drawnSample = undefined
    schedule()
  },
  sample: (sample) => {
    store.addSample(sample)
    schedule()
  },
  stackEvent: (event) => {
    if (store.addEvent(event)) events.add(event)
    schedule()
  },
  autoscale: (record) => {
    store.addAutoscale(record)
    autoscale.add(record)
    schedule()
  },
}, byId('connection'))

// A page in a background tab gets no animation frames: draw once it is seen again.
document.addEventListener('visibilitychange', () => { if (!document.hidden) schedule() })
let resizing: number | undefined
window.addEventListener('resize', () => {
  clearTimeout(resizing)
  resizing = window.setTimeout(() => { for (const chart of charts) chart.resize() }, 150)
})
