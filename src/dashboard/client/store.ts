import type { AutoscaleRecord } from '../../control/autoscaler/controller.js'
import type { StackEvent } from '../../control/event-log.js'
import type { DashboardHello, DashboardSample } from '../sample.js'

/** Samples kept for the charts: ten minutes at one a second. */
const MAX_SAMPLES = 600
const MAX_EVENTS = 300

/** Where a marker on the charts' time axis comes from. */
export type MarkKind = 'event' | 'autoscale' | 'failure'
export interface Mark { readonly t: number, readonly kind: MarkKind, readonly label: string }

/** An autoscaler record that changed the count: what the page lists and marks. */
export const isScaling = (r: AutoscaleRecord): boolean => r.decision.desired !== r.current

const markOfEvent = (e: StackEvent): Mark => ({
  t: Date.parse(e.time),
  kind: e.result === 'failed' || e.action === 'exited' || e.action === 'failover' ? 'failure' : 'event',
  label: `${e.action} ${e.target ?? ''}`.trim(),
})

/** What the page knows: the hello, then every sample, event and decision since, bounded. */
export class DashboardStore {
  hello: DashboardHello | undefined
  samples: DashboardSample[] = []
  events: StackEvent[] = []
  autoscale: AutoscaleRecord[] = []
  marks: Mark[] = []
  /** Bumped on every change the charts' markers depend on. */
  marksVersion = 0

  reset (hello: DashboardHello): void {
    this.hello = hello
    this.samples = hello.history.slice(-MAX_SAMPLES)
    this.events = hello.events.slice(-MAX_EVENTS)
    this.autoscale = hello.autoscaler.slice(-MAX_EVENTS)
    this.marks = [...this.events.map(markOfEvent), ...this.autoscale.filter(isScaling).map((r) => ({ t: r.at, kind: 'autoscale' as const, label: `${r.group} → ${r.decision.desired}` }))]
    this.marksVersion++
  }

  addSample (sample: DashboardSample): void {
    this.samples.push(sample)
    if (this.samples.length > MAX_SAMPLES) this.samples.splice(0, this.samples.length - MAX_SAMPLES)
    this.#trimMarks()
  }

  /** False when the event was already known (a reconnect's hello replays recent ones). */
  addEvent (event: StackEvent): boolean {
    const last = this.events[this.events.length - 1]
    if (last !== undefined && event.seq <= last.seq) return false
    this.events.push(event)
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS)
    this.marks.push(markOfEvent(event))
    this.marksVersion++
    return true
  }

  addAutoscale (record: AutoscaleRecord): void {
    this.autoscale.push(record)
    if (this.autoscale.length > MAX_EVENTS) this.autoscale.splice(0, this.autoscale.length - MAX_EVENTS)
    if (isScaling(record)) {
      this.marks.push({ t: record.at, kind: 'autoscale', label: `${record.group} → ${record.decision.desired}` })
      this.marksVersion++
    }
  }

  latest (): DashboardSample | undefined {
    return this.samples[this.samples.length - 1]
  }

  /** Markers older than the oldest sample are off every chart. */
  #trimMarks (): void {
    const oldest = this.samples[0]?.t
    if (oldest === undefined || this.marks.length === 0 || (this.marks[0]?.t ?? oldest) >= oldest) return
    this.marks = this.marks.filter((m) => m.t >= oldest)
    this.marksVersion++
  }
}
