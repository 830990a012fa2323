import type { AutoscaleRecord } from '../../control/autoscaler/controller.js'
import type { StackEvent } from '../../control/event-log.js'
import { el, setText } from './dom.js'
import { clock, rate } from './format.js'
import { isScaling } from './store.js'

const MAX_ITEMS = 200

function prepend (list: HTMLOListElement, item: HTMLLIElement): void {
  list.prepend(item)
  while (list.children.length > MAX_ITEMS) list.lastElementChild?.remove()
}

/** The metric that drove a decision, with its value: "cpu 0.82". */
export function drivingMetric (record: AutoscaleRecord): string {
  const metric = record.decision.metric
  if (metric === undefined) return 'no metric'
  const value = (record.metrics as Record<string, number | undefined>)[metric]
  return value === undefined ? metric : `${metric} ${rate(value)}`
}

/** The event log, newest first: time, actor, action, target, result and detail as text. */
export class EventList {
  readonly #list: HTMLOListElement

  constructor (list: HTMLOListElement) {
    this.#list = list
  }

  reset (events: readonly StackEvent[]): void {
    this.#list.replaceChildren()
    for (const event of events.slice(-MAX_ITEMS)) this.add(event)
  }

  add (event: StackEvent): void {
    const item = el('li', { 'data-seq': String(event.seq) })
    item.append(
      el('time', { datetime: event.time }, clock(Date.parse(event.time))),
      `${event.actor} ${event.action}${event.target === undefined ? '' : ` ${event.target}`} `,
      el('span', { class: `result-${event.result}` }, event.result),
      event.detail === undefined ? '' : ` — ${event.detail}`,
    )
    prepend(this.#list, item)
  }
}

/** The autoscaler's decisions that changed a count, newest first, and its latest evaluation. */
export class AutoscaleList {
  readonly #list: HTMLOListElement
  readonly #last: HTMLElement

  constructor (list: HTMLOListElement, last: HTMLElement) {
    this.#list = list
    this.#last = last
  }

  reset (records: readonly AutoscaleRecord[]): void {
    this.#list.replaceChildren()
    for (const record of records.slice(-MAX_ITEMS)) this.add(record)
  }

  add (record: AutoscaleRecord): void {
    const d = record.decision
    const outcome = isScaling(record) ? `${record.current} → ${d.desired}` : `stays at ${record.current}`
    setText(this.#last, `Last evaluation ${clock(record.at)}: ${record.group} ${outcome} (${drivingMetric(record)}; ${d.reason}).`)
    if (!isScaling(record)) return
    const item = el('li')
    item.append(
      el('time', { datetime: new Date(record.at).toISOString() }, clock(record.at)),
      `${record.group} ${outcome}, driven by ${drivingMetric(record)} (proposed ${d.proposed}, ${d.reason}; ${record.ready} ready)`,
    )
    prepend(this.#list, item)
  }
}
